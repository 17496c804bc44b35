// libnl-3 and libnl-route-3 (Debian: libnl-3-dev, libnl-route-3-dev): rtnetlink links and addresses.
#ifndef CNETLINK_ROUTE_SHIM_H
#define CNETLINK_ROUTE_SHIM_H
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/errno.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <linux/rtnetlink.h>

// setns(2) needs _GNU_SOURCE, which this module must not define: its system headers would then disagree with
// Swift's Glibc module (fd_set and others), and a clean build fails. Declare just what is needed.
extern int setns(int fd, int nstype);

/// setns(fd, CLONE_NEWNET): move this thread into the network namespace open at `fd`.
static inline int cnlr_enter_network_namespace(int fd) { return setns(fd, 0x40000000 /* CLONE_NEWNET */); }
#endif
