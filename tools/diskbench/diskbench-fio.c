/* SPDX-License-Identifier: MIT */
/*
 * diskbench-fio.c - the fio baseline of pvio-diskbench: one fio job per workload on the same
 * file, --ioengine=libaio at the workload's depth, --direct as pvio-blkback opens the file,
 * --output-format=json.  Latency is fio's "lat" (submission to completion, as pvio's loop
 * times it): with buffered I/O, libaio does the copy inside io_submit, which fio counts in
 * "slat", so its "clat" alone would leave the work out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/diskbench/diskbench.h"

/* fio's JSON for one job is about 10 KiB; more means something else went wrong. */
#define FIO_OUT_MAX (1u << 20)
#define FIO_ARGS    20

/* A number after "key" : within [from, to), or -1 if absent. */
static double json_num(const char *from, const char *to, const char *key)
{
	char pat[64];
	const char *k;
	char *end;
	double v;

	snprintf(pat, sizeof(pat), "\"%s\" :", key);
	k = strstr(from, pat);
	if (!k || k >= to)
		return -1;
	v = strtod(k + strlen(pat), &end);
	return end == k + strlen(pat) ? -1 : v;
}

/* Fill *res from the "read" or "write" object of fio's JSON output. */
static int fio_parse(const char *out, bool write, struct db_result *res)
{
	const char *sec = strstr(out, write ? "\"write\" : {" : "\"read\" : {");
	const char *end, *lat;
	double iops, bw, runtime, mean, p99;

	if (!sec)
		return -EPROTO;
	end = strstr(sec, write ? "\"trim\" : {" : "\"write\" : {");
	if (!end)
		end = sec + strlen(sec);
	lat = strstr(sec, "\"lat_ns\" : {");
	iops = json_num(sec, end, "iops");
	bw = json_num(sec, end, "bw_bytes");
	runtime = json_num(sec, end, "runtime");
	mean = lat && lat < end ? json_num(lat, end, "mean") : -1;
	p99 = lat && lat < end ? json_num(lat, end, "99.000000") : -1;
	if (iops < 0 || bw < 0 || runtime <= 0 || mean < 0 || p99 < 0)
		return -EPROTO;
	res->ns = (uint64_t)(runtime * 1e6);
	res->ops = (uint64_t)(iops * runtime / 1e3 + 0.5);
	res->bytes = (uint64_t)(bw * runtime / 1e3 + 0.5);
	res->mean_ns = mean;
	res->p99_ns = p99;
	res->have_lat = true;
	return 0;
}

/* Read the child's stdout to EOF into a growing buffer. */
static int read_all(int fd, char **outp)
{
	size_t len = 0, cap = 16384;
	char *out = malloc(cap), *n;
	ssize_t r;

	while (out) {
		if (len + 1 >= cap) {
			if (cap >= FIO_OUT_MAX)
				break;
			n = realloc(out, cap * 2);
			if (!n)
				break;
			out = n;
			cap *= 2;
		}
		r = read(fd, out + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			out[len] = '\0';
			*outp = out;
			return r < 0 ? -errno : 0;
		}
		len += (size_t)r;
	}
	free(out);
	return -ENOMEM;
}

int db_exec_capture(char **argv, char **outp)
{
	int fds[2], status, devnull, ret;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(fds[1], 1);
		if (devnull >= 0)
			dup2(devnull, 0);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -errno;
	}
	ret = read_all(fds[0], outp);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		ret = -ENOENT;
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ret = ret ? ret : -EIO;
	if (ret < 0) {
		free(*outp);
		*outp = NULL;
	}
	return ret;
}

int db_fio_one(const struct db_params *p, const char *file, bool direct,
	       const struct db_workload *w, struct db_result *res)
{
	char a[9][96], *argv[FIO_ARGS], *out = NULL;
	unsigned int n = 0;
	int ret;

	snprintf(a[0], sizeof(a[0]), "--filename=%s", file);
	snprintf(a[1], sizeof(a[1]), "--size=%llu", (unsigned long long)p->size);
	snprintf(a[2], sizeof(a[2]), "--iodepth=%u", w->depth);
	snprintf(a[3], sizeof(a[3]), "--direct=%d", direct);
	snprintf(a[4], sizeof(a[4]), "--rw=%s",
		 w->random ? (w->write ? "randwrite" : "randread") : (w->write ? "write" : "read"));
	snprintf(a[5], sizeof(a[5]), "--bs=%u", w->bs);
	snprintf(a[6], sizeof(a[6]), "--runtime=%ums", p->runtime_ms);
	snprintf(a[7], sizeof(a[7]), "--ramp_time=%ums", p->warmup_ms);
	snprintf(a[8], sizeof(a[8]), "--name=%s", "diskbench");
	argv[n++] = "fio";
	for (unsigned int i = 0; i < 9; i++)
		argv[n++] = a[i];
	argv[n++] = "--ioengine=libaio";
	argv[n++] = "--time_based=1";
	argv[n++] = "--norandommap=1";
	argv[n++] = "--randrepeat=0";
	argv[n++] = "--invalidate=0";
	argv[n++] = "--lat_percentiles=1";
	argv[n++] = "--percentile_list=99";
	argv[n++] = "--output-format=json";
	argv[n] = NULL;
	memset(res, 0, sizeof(*res));
	ret = db_exec_capture(argv, &out);
	if (ret == 0)
		ret = fio_parse(out, w->write, res);
	free(out);
	return res->err = ret;
}

int db_run_fio(const struct db_params *p, bool direct, struct db_result *res)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < db_nr_workloads; i++) {
		ret = db_fio_one(p, p->file, direct, &db_workloads[i], &res[i]);
		if (ret == -ENOENT)
			return ret;
		if (ret < 0)
			db_err(db_workloads[i].name, ret);
	}
	return 0;
}
