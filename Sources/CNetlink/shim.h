// libnl-3 and libnl-genl-3 (Debian: libnl-3-dev, libnl-genl-3-dev) and the kernel's IPVS generic-netlink UAPI.
#ifndef CNETLINK_SHIM_H
#define CNETLINK_SHIM_H
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/netlink.h>
#include <linux/ip_vs.h>

// setns(2) and CLONE_NEWNET need _GNU_SOURCE, which this module must not define: its system headers would then
// disagree with Swift's Glibc module (fd_set and others), and a clean build fails. Declare just what is needed.
extern int setns(int fd, int nstype);

/// setns(fd, CLONE_NEWNET): move this thread into the network namespace open at `fd`.
static inline int cnl_enter_network_namespace(int fd) { return setns(fd, 0x40000000 /* CLONE_NEWNET */); }
#endif
