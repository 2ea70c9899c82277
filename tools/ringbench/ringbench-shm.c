/* SPDX-License-Identifier: MIT */
/*
 * ringbench-shm.c - the stream baseline without a hypervisor: the same ring,
 * batches and 4 KiB copies as the pvio stream tests, between two plain
 * processes that share one anonymous mapping (ring and data pages) and
 * notify each other over eventfds.  What pvio adds on top of this is the
 * cost of grants and event channels, and nothing else.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/ringbench/ringbench.h"

struct shm_side {
	void *sring;	/* the ring, in the shared mapping */
	uint8_t *data;	/* RB_DATA_PAGES pages after it, in the shared mapping */
	int to_back;	/* eventfd the front writes to wake the back */
	int to_front;	/* eventfd the back writes to wake the front */
	unsigned order; /* ring-page-order */
};

static int efd_signal(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static int efd_wait(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? 0 : -errno;
}

/* The back: consume a batch, copy each page out, answer, notify if asked. */
static int shm_back_batch(struct ring_back *rb, const struct rb_req *reqs, int n,
			  struct shm_side *s, uint8_t *buf, bool *quit)
{
	struct rb_rsp *rsp;
	int i, ret;

	for (i = 0; i < n; i++) {
		if (reqs[i].op == RB_OP_QUIT)
			*quit = true;
		else
			memcpy(buf + (size_t)i * HV_PAGE_SIZE,
			       s->data + (size_t)(reqs[i].gref % RB_DATA_PAGES) * HV_PAGE_SIZE,
			       HV_PAGE_SIZE);
		rsp = ring_back_rsp_slot(rb);
		if (!rsp)
			return -EPROTO;
		rsp->id = reqs[i].id;
		rsp->status = 0;
	}
	ret = ring_back_push(rb);
	return ret > 0 ? efd_signal(s->to_front) : ret;
}

static int shm_back(struct shm_side *s)
{
	uint8_t *buf = aligned_alloc(HV_PAGE_SIZE, (size_t)RB_BATCH * HV_PAGE_SIZE);
	struct rb_req reqs[RB_BATCH];
	struct ring_back rb;
	bool quit = false;
	int n;

	n = buf ? ring_back_attach(&rb, s->sring, s->order, sizeof(struct rb_req),
				   sizeof(struct rb_rsp))
		: -ENOMEM;
	while (n >= 0 && !quit) {
		n = ring_back_consume(&rb, reqs, RB_BATCH);
		if (n > 0)
			n = shm_back_batch(&rb, reqs, n, s, buf, &quit);
		else if (n == 0 && (n = ring_back_final_check(&rb)) == 0)
			n = efd_wait(s->to_back);
	}
	free(buf);
	return n < 0 ? 1 : 0;
}

/* The front: keep the ring full of page requests until total have been answered. */
static int shm_fill(struct ring_front *rf, struct shm_side *s, uint64_t *issued, uint64_t total,
		    uint32_t op)
{
	struct rb_req *req;
	int ret;

	while (*issued < total && (req = ring_front_req_slot(rf))) {
		req->id = *issued;
		req->gref = (uint32_t)(*issued % RB_DATA_PAGES);
		req->op = op;
		(*issued)++;
	}
	ret = ring_front_push(rf);
	return ret > 0 ? efd_signal(s->to_back) : ret;
}

static int shm_take(struct ring_front *rf, struct shm_side *s, struct rb_rsp *rsps)
{
	int n;

	for (;;) {
		n = ring_front_consume(rf, rsps, RB_BATCH);
		if (n != 0)
			return n;
		n = ring_front_final_check(rf);
		if (n == 0)
			n = efd_wait(s->to_front);
		if (n < 0)
			return n;
	}
}

static int shm_front(struct shm_side *s, uint64_t pages, uint64_t *ns)
{
	struct rb_rsp rsps[RB_BATCH];
	struct ring_front rf;
	uint64_t issued = 0, done = 0, t0;
	int n;

	n = ring_front_init(&rf, s->sring, s->order, sizeof(struct rb_req), sizeof(struct rb_rsp));
	t0 = rb_now_ns();
	if (n == 0)
		n = shm_fill(&rf, s, &issued, pages, RB_OP_COPY);
	while (n >= 0 && done < pages) {
		n = shm_take(&rf, s, rsps);
		if (n > 0) {
			done += (unsigned int)n;
			n = shm_fill(&rf, s, &issued, pages, RB_OP_COPY);
		}
	}
	*ns = rb_now_ns() - t0;
	issued = 0;
	if (n >= 0)
		n = shm_fill(&rf, s, &issued, 1, RB_OP_QUIT);
	return n < 0 ? n : 0;
}

static int shm_run(struct shm_side *s, uint64_t pages, double *gbs)
{
	uint64_t ns = 0;
	int ret, status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(shm_back(s));
	ret = shm_front(s, pages, &ns);
	if (ret < 0)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		ret = ret < 0 ? ret : -EPROTO;
	*gbs = rb_gbs(pages * HV_PAGE_SIZE, ns);
	return ret;
}

int rb_base_shm_stream(const struct rb_params *p, double *gbs)
{
	size_t ring_len = ring_bytes(p->order), len = ring_len + RB_DATA_PAGES * HV_PAGE_SIZE;
	struct shm_side s = { .order = p->order, .to_back = -1, .to_front = -1 };
	uint8_t *map;
	int ret;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	s.sring = map;
	s.data = map + ring_len;
	memset(s.data, 0x5a, RB_DATA_PAGES * HV_PAGE_SIZE);
	s.to_back = eventfd(0, EFD_CLOEXEC);
	s.to_front = eventfd(0, EFD_CLOEXEC);
	ret = s.to_back < 0 || s.to_front < 0 ? -errno : shm_run(&s, p->bytes / HV_PAGE_SIZE, gbs);
	if (s.to_back >= 0)
		close(s.to_back);
	if (s.to_front >= 0)
		close(s.to_front);
	munmap(map, len);
	return ret;
}
