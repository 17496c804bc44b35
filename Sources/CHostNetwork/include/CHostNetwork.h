// Linux headers Swift's Glibc module does not bring in: AF_PACKET's sockaddr_ll and the ETH_P_* protocol numbers.
#ifndef C_HOST_NETWORK_H
#define C_HOST_NETWORK_H

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

/// ETH_P_ALL, in network byte order, as bind(2) on an AF_PACKET socket expects it.
unsigned short CHostNetwork_ethPAllNetworkOrder(void);

#endif
