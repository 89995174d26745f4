#ifndef SWITCHYARD_CTAP_H
#define SWITCHYARD_CTAP_H

/// Linux TAP devices for switchyard-tap: the ioctls Swift cannot call (variadic ioctl).

/// Opens /dev/net/tun and attaches a TAP device (IFF_TAP | IFF_NO_PI) named `name` (empty for
/// the kernel's choice). On success returns the descriptor and writes the device's name (at
/// most 16 bytes with its NUL) to `actual_name`; on failure returns -1 with errno set.
int switchyard_tap_open(const char *name, char *actual_name);

/// Reads the MAC address of interface `name` into `mac` (6 bytes); 0 or -1 with errno set.
int switchyard_interface_mac(const char *name, unsigned char *mac);

#endif
