#define _GNU_SOURCE  // recvmmsg and struct mmsghdr; only in this file, never in the module's header
#include "CHostNetwork.h"

#include <arpa/inet.h>
#include <stddef.h>

_Static_assert(sizeof(struct sockaddr_ll) == 20, "sockaddr_ll has the layout the capture code binds with");
_Static_assert(sizeof(struct CHostNetwork_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct CHostNetwork_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

unsigned short CHostNetwork_ethPAllNetworkOrder(void) { return htons(ETH_P_ALL); }

int CHostNetwork_recvmmsg(int fd, struct CHostNetwork_mmsghdr *vector, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)vector, count, flags, NULL);
}
