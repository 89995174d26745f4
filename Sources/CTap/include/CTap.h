#ifndef SWITCHYARD_CTAP_H
#define SWITCHYARD_CTAP_H

#include <sys/types.h>

/// Linux TAP devices for switchyard-tap: the ioctls Swift cannot call (variadic ioctl).

/// Opens /dev/net/tun and attaches a TAP device (IFF_TAP | IFF_NO_PI, and with `virtio`
/// IFF_VNET_HDR with 10-byte headers and TCP offloads on) named `name` (empty for
/// the kernel's choice). On success returns the descriptor and writes the device's name (at
/// most 16 bytes with its NUL) to `actual_name`; on failure returns -1 with errno set.
int switchyard_tap_open(const char *name, char *actual_name, int virtio);

/// Reads the MAC address of interface `name` into `mac` (6 bytes); 0 or -1 with errno set.
int switchyard_interface_mac(const char *name, unsigned char *mac);

/// Whether `fd` is a TAP device's descriptor as switchyard-tap makes them (IFF_TAP and
/// IFF_NO_PI, by TUNGETIFF); 0, the device's name in `actual_name` (16 bytes) and in
/// `virtio` whether it has 10-byte virtio-net headers, or -1 with errno set (EPROTOTYPE: a
/// TUN device, one with packet information, or virtio-net headers of another size).
int switchyard_tap_check(int fd, char *actual_name, int *virtio);

/// Sends `length` bytes and the descriptor `fd` (SCM_RIGHTS) as one message on `sock`.
ssize_t switchyard_send_with_descriptor(int sock, const void *bytes, size_t length, int fd);

/// Receives one message of at most `capacity` bytes; the first descriptor that came with it is
/// put in `fd` (-1 when none; any more are closed). A message or its control data cut short is
/// an error (EMSGSIZE), with no descriptor kept.
ssize_t switchyard_receive_with_descriptor(int sock, void *bytes, size_t capacity, int *fd);

#endif
