/* SPDX-License-Identifier: MIT */
/*
 * guest-hello: the smallest libIVC guest. It boots on Xen as a PVH
 * domain, prints on its console and exits with code 3, which Xen sees
 * as a crash (any code but 0) and the console shows as "guest: exit 3".
 */
#include <guest.h>

int main(void)
{
	printf("hello from a libIVC guest: %d %s, %x %5u|%-4d|%c\n", -42, "ok", 0xbeefu, 7u, 9,
	       '!');
	return 3;
}
