#include "CTap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int switchyard_tap_open(const char *name, char *actual_name, int virtio) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (virtio ? IFF_VNET_HDR : 0);
    if (name != NULL) {
        strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    }
    if (ioctl(fd, TUNSETIFF, &request) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (virtio) {
        // The kernel may hand over checksums to fill in and large TCP segments (IPv4, IPv6,
        // with ECN), each behind a 10-byte virtio-net header, little-endian on this host.
        int length = 10;
        unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        if (ioctl(fd, TUNSETVNETHDRSZ, &length) < 0 || ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    strncpy(actual_name, request.ifr_name, IFNAMSIZ);
    actual_name[IFNAMSIZ - 1] = 0;
    return fd;
}

int switchyard_interface_mac(const char *name, unsigned char *mac) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        return -1;
    }
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(sock, SIOCGIFHWADDR, &request);
    int saved = errno;
    close(sock);
    if (result < 0) {
        errno = saved;
        return -1;
    }
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    return 0;
}

int switchyard_tap_check(int fd, char *actual_name, int *virtio) {
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    if (ioctl(fd, TUNGETIFF, &request) < 0) {
        return -1;
    }
    *virtio = (request.ifr_flags & IFF_VNET_HDR) != 0;
    if (*virtio) {
        int length = 0;
        if (ioctl(fd, TUNGETVNETHDRSZ, &length) < 0 || length != 10) {
            errno = EPROTOTYPE;
            return -1;
        }
    }
    if ((request.ifr_flags & IFF_TAP) == 0 || (request.ifr_flags & IFF_NO_PI) == 0) {
        errno = EPROTOTYPE;
        return -1;
    }
    strncpy(actual_name, request.ifr_name, IFNAMSIZ);
    actual_name[IFNAMSIZ - 1] = 0;
    return 0;
}

ssize_t switchyard_send_with_descriptor(int sock, const void *bytes, size_t length, int fd) {
    struct iovec part = { .iov_base = (void *)bytes, .iov_len = length };
    union {
        char space[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof(control.space);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    return sendmsg(sock, &message, MSG_NOSIGNAL);
}

ssize_t switchyard_receive_with_descriptor(int sock, void *bytes, size_t capacity, int *fd) {
    *fd = -1;
    struct iovec part = { .iov_base = bytes, .iov_len = capacity };
    union {
        char space[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof(control.space);
    ssize_t received = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) {
        return -1;
    }
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *descriptors = (int *)CMSG_DATA(header);
        for (size_t index = 0; index < count; index++) {
            // The first descriptor is kept; any more a peer sent are closed, never leaked.
            if (*fd < 0) {
                *fd = descriptors[index];
            } else {
                close(descriptors[index]);
            }
        }
    }
    if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        if (*fd >= 0) {
            close(*fd);
            *fd = -1;
        }
        errno = EMSGSIZE;
        return -1;
    }
    return received;
}
