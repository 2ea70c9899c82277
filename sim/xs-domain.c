/* SPDX-License-Identifier: MIT */
/*
 * xs-domain.c - introduced domains: each gets its own socket (in a 0700
 * directory beside the main socket), and whoever connects there is that
 * domain.  RELEASE, or pvio-hv's notice that the domain died, closes it
 * and deletes the nodes it owned (XSA-419).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv/simctl.h"
#include "sim/xs-daemon.h"

int xs_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct xs_domain *xs_domain_find(struct xs_daemon *d, unsigned int domid)
{
	struct xs_domain *dom;

	for (dom = d->domains; dom && dom->domid != domid; dom = dom->next)
		;
	return dom;
}

/* Whether pvio-hv (when we follow it) knows domid: 0, -EINVAL, or -errno. */
static int xs_hv_knows(struct xs_daemon *d, unsigned int domid)
{
	struct hvctl_domain_info info[256];
	struct hvctl *ctl;
	int i, n;

	if (d->hv.fd < 0)
		return 0;
	n = hvctl_open(&ctl, d->hv_path);
	if (n < 0)
		return n;
	n = hvctl_domain_list(ctl, info, 256);
	hvctl_close(ctl);
	for (i = 0; i < n; i++) {
		if (info[i].domid == domid)
			return 0;
	}
	return n < 0 ? n : -EINVAL;
}

/* /local/domain/<domid>, owned by the domain, unless it exists. */
static int xs_domain_home(struct xs_daemon *d, unsigned int domid)
{
	struct xs_perm own = { .id = (uint16_t)domid, .perm = 0 };
	struct xs_node *n, *p;
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if (xs_get(&d->st, NULL, path))
		return 0;
	n = xs_node_new(path, &own, 1);
	p = xs_node_dup(xs_get(&d->st, NULL, "/local/domain"));
	if (!n || !p || xs_node_kid_add(p, xs_path_base(path)) < 0) {
		xs_node_free(n);
		xs_node_free(p);
		return -ENOMEM;
	}
	xs_put(&d->st, NULL, p);
	xs_event_note(d, NULL, path, n, false);
	return xs_put(&d->st, NULL, n);
}

/* The domain's directory and socket, listening and in the epoll set. */
static int xs_domain_open(struct xs_daemon *d, struct xs_domain *dom)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dom->src };
	char *copy = strdup(d->main.sock);
	int ret = -ENOMEM;

	if (copy && asprintf(&dom->dir, "%s/domain-%u", dirname(copy), dom->domid) < 0)
		dom->dir = NULL;
	if (dom->dir && asprintf(&dom->sock, "%s/socket", dom->dir) < 0)
		dom->sock = NULL;
	free(copy);
	if (!dom->sock)
		return ret;
	if (mkdir(dom->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	ret = xs_listen(dom->sock);
	if (ret < 0)
		return ret;
	dom->src.fd = ret;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, dom->src.fd, &ev) < 0)
		return -errno;
	return 0;
}

static void xs_domain_close(struct xs_daemon *d, struct xs_domain *dom)
{
	if (dom->src.fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, dom->src.fd, NULL);
		close(dom->src.fd);
		dom->src.fd = -1;
	}
	if (dom->sock)
		unlink(dom->sock);
	if (dom->dir)
		rmdir(dom->dir);
}

static void xs_domain_free(struct xs_daemon *d, struct xs_domain *dom)
{
	xs_domain_close(d, dom);
	free(dom->dir);
	free(dom->sock);
	free(dom);
}

int xs_domain_introduce(struct xs_daemon *d, unsigned int domid)
{
	struct xs_domain *dom;
	int ret;

	if (xs_domain_find(d, domid))
		return 0;
	ret = xs_hv_knows(d, domid);
	if (ret < 0)
		return ret == -EINVAL ? ret : -EIO;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->src.kind = XS_SRC_LISTEN;
	dom->src.fd = -1;
	dom->domid = domid;
	xs_wrl_init(d, dom);
	ret = xs_domain_open(d, dom);
	if (ret == 0)
		ret = xs_domain_home(d, domid);
	if (ret < 0) {
		xs_domain_free(d, dom);
		return ret == -ENOMEM ? ret : -EIO;
	}
	dom->next = d->domains;
	d->domains = dom;
	xs_special_fire(d, "@introduceDomain");
	if (d->verbose)
		fprintf(stderr, "pvio-xenstored: introduced domain %u at %s\n", domid, dom->sock);
	return 0;
}

/* Delete every node domid owns, with its subtree. */
static void xs_domain_purge(struct xs_daemon *d, unsigned int domid)
{
	struct xs_node *n;
	unsigned int b;
	char *path;

	while (d->st.owned[domid]) {
		for (n = xs_map_next(&d->st.map, &b, NULL); n; n = xs_map_next(&d->st.map, &b, n)) {
			if (n->perms[0].id == domid && strcmp(n->path, "/"))
				break;
		}
		path = n ? strdup(n->path) : NULL;
		if (!path || xs_ops_rm_tree(d, NULL, path) < 0) {
			free(path);
			return;
		}
		free(path);
	}
}

int xs_domain_release(struct xs_daemon *d, unsigned int domid)
{
	struct xs_domain **pp, *dom;
	struct xs_conn *c;

	for (pp = &d->domains; *pp && (*pp)->domid != domid; pp = &(*pp)->next)
		;
	dom = *pp;
	if (!dom)
		return -ENOENT;
	*pp = dom->next;
	/* Free the listener after this loop turn: epoll may still report it. */
	xs_domain_close(d, dom);
	dom->next = d->graveyard;
	d->graveyard = dom;
	for (c = d->conns; c; c = c->next) {
		if (c->domid == domid)
			c->dead = true;
	}
	xs_domain_purge(d, domid);
	xs_special_fire(d, "@releaseDomain");
	if (d->verbose)
		fprintf(stderr, "pvio-xenstored: released domain %u\n", domid);
	return 0;
}

void xs_domain_free_all(struct xs_daemon *d)
{
	struct xs_domain *dom;

	while ((dom = d->graveyard)) {
		d->graveyard = dom->next;
		xs_domain_free(d, dom);
	}
	while ((dom = d->domains)) {
		d->domains = dom->next;
		xs_domain_free(d, dom);
	}
}

void xs_domain_bury(struct xs_daemon *d)
{
	struct xs_domain *dom;

	while ((dom = d->graveyard)) {
		d->graveyard = dom->next;
		xs_domain_free(d, dom);
	}
}

int xs_hv_subscribe(struct xs_daemon *d, bool required)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->hv };
	int fd, ret = hvctl_subscribe(d->hv_path, &fd);

	if (ret < 0)
		return required ? ret : 0;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	d->hv.kind = XS_SRC_HV;
	d->hv.fd = fd;
	if (d->verbose)
		fprintf(stderr, "pvio-xenstored: following pvio-hv's domain deaths\n");
	return 0;
}

void xs_hv_read(struct xs_daemon *d)
{
	domid_t domid;
	int ret;

	while ((ret = hvctl_death_read(d->hv.fd, &domid)) == 0) {
		if (xs_domain_find(d, domid))
			xs_domain_release(d, domid);
	}
	if (ret == -EAGAIN)
		return;
	fprintf(stderr, "pvio-xenstored: pvio-hv: %s\n", strerror(-ret));
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->hv.fd, NULL);
	close(d->hv.fd);
	d->hv.fd = -1;
}
