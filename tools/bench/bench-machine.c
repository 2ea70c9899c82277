/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/bench-machine.h"

void bench_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], *colon;

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		colon = strchr(line, ':');
		if (!colon || (strncmp(line, "model name", 10) && strncmp(line, "Model", 5)))
			continue;
		colon += strspn(colon + 1, " \t") + 1;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	if (f)
		fclose(f);
}

void bench_print_machine(const char *prog)
{
	char cpu[256], date[64];
	time_t now = time(NULL);
	struct utsname u;
	cpu_set_t set;

	bench_cpu_model(cpu, sizeof(cpu));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof(set), &set);
	printf("%s %s\n", prog, PACKAGE_VERSION);
	printf("date:        %s\n", date);
	printf("machine:     %s %s %s\n", u.sysname, u.release, u.machine);
	printf("cpu:         %s\n", cpu);
	printf("cpus:        %d usable, %ld online (no pinning)\n", CPU_COUNT(&set),
	       sysconf(_SC_NPROCESSORS_ONLN));
}
