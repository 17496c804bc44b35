// libnl-3 and libnl-genl-3 (Debian: libnl-3-dev, libnl-genl-3-dev) and the kernel's IPVS generic-netlink UAPI.
#ifndef CNETLINK_SHIM_H
#define CNETLINK_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
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

/// setns(fd, CLONE_NEWNET): Glibc's Swift module does not export setns or CLONE_NEWNET (they need _GNU_SOURCE).
static inline int cnl_enter_network_namespace(int fd) { return setns(fd, CLONE_NEWNET); }
#endif
