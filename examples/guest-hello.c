/* SPDX-License-Identifier: MIT */
/*
 * guest-hello: the smallest libIVC guest. It boots on Xen as a PVH
 * domain, prints on its console and exits with code 3, which Xen sees
 * as a crash (any code but 0); dom0 reads it in XenStore (data/exit-code)
 * and the console shows "guest: exit 3". With cmdline "trap" it executes
 * an invalid instruction instead: the runtime reports the exception and
 * exits with 126.
 */
#include <guest.h>

int main(void)
{
	char name[64];
	int err = xs_read("name", name, sizeof name);

	if (err)
		printf("guest-hello: no name in XenStore (%d)\n", err);
	else
		printf("guest-hello: I am %s\n", name);
	if (!strcmp(guest_cmdline(), "trap"))
		__asm__ volatile("ud2");
	uint64_t t0 = guest_now_ns();
	guest_sleep_ms(200);
	printf("guest-hello: slept %llu ms (asked 200)\n",
	       (unsigned long long)((guest_now_ns() - t0) / 1000000u));
	printf("hello from a libIVC guest: %d %s, %x %5u|%-4d|%c\n", -42, "ok", 0xbeefu, 7u, 9,
	       '!');
	return 3;
}
