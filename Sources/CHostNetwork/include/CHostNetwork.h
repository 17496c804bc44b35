// Linux headers Swift's Glibc module does not bring in: AF_PACKET's sockaddr_ll, the ETH_P_* protocol numbers,
// classic BPF (SO_ATTACH_FILTER) and recvmmsg(2).
#ifndef C_HOST_NETWORK_H
#define C_HOST_NETWORK_H

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

/// ETH_P_ALL, in network byte order, as bind(2) on an AF_PACKET socket expects it.
unsigned short CHostNetwork_ethPAllNetworkOrder(void);

/// The layout of glibc's `struct mmsghdr`, which <sys/socket.h> declares only under _GNU_SOURCE (and this header
/// must not define it: Swift's Glibc module would then disagree with it). shim.c checks that the two agree.
struct CHostNetwork_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// recvmmsg(2) without a timeout: receives up to `count` datagrams into `vector`; returns how many, or -1 with errno.
int CHostNetwork_recvmmsg(int fd, struct CHostNetwork_mmsghdr *vector, unsigned int count, int flags);

#endif
