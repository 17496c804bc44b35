#include "CHostNetwork.h"

#include <arpa/inet.h>

_Static_assert(sizeof(struct sockaddr_ll) == 20, "sockaddr_ll has the layout the capture code binds with");

unsigned short CHostNetwork_ethPAllNetworkOrder(void) { return htons(ETH_P_ALL); }
