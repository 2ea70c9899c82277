/* SPDX-License-Identifier: MIT */
/*
 * pvio-spec.c - what the device subcommands (block-* and network-*) parse the same way: a
 * device spec's comma-separated items, a virtual device name, the DOMAIN [SPEC] and
 * DOMAIN DEVICE [--force] command lines, and the domains an attach names.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/pvio/pvio.h"
#include "xenbus/vdev.h"

/* Where a value of the rest key that starts at s ends: before the first ",KEY" of keys. */
static char *rest_end(char *s, const char *const *keys)
{
	char *end = NULL, *p;

	for (; keys && *keys; keys++) {
		p = strstr(s, *keys);
		if (p && (!end || p < end))
			end = p;
	}
	return end;
}

int pvio_spec_parse(char *spec, const struct pvio_spec_syntax *syn, void *arg)
{
	size_t rest_len = syn->rest_key ? strlen(syn->rest_key) : 0;
	char *item = spec, *next, *eq;
	int ret = 0;

	while (item && ret == 0) {
		if (rest_len && !strncmp(item, syn->rest_key, rest_len) && item[rest_len] == '=')
			next = rest_end(item, syn->keys);
		else
			next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		ret = syn->item(arg, eq ? item : NULL, eq ? eq + 1 : item);
		item = next;
	}
	return ret;
}

int pvio_vdev(const char *vdev, uint32_t *devid)
{
	int ret = vdev_devid(vdev, devid);

	if (ret == -ERANGE)
		return pvio_fail("%s: virtual device out of range", vdev);
	if (ret < 0)
		return pvio_fail(
		    "%s: not a virtual device (like xvda, xvdb1, sda, hdc, d0p1, 51712)", vdev);
	return 0;
}

int pvio_attach_args(int argc, char **argv, const char *usage, bool spec_optional)
{
	int opt, n;

	while ((opt = pvio_getopt(argc, argv, "h", NULL, usage)) != -1)
		return opt == 'h' ? 0 : 2;
	n = argc - optind;
	if (n != 2 && !(spec_optional && n == 1)) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int pvio_detach_args(int argc, char **argv, const char *usage, bool *force)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	int opt;

	*force = false;
	while ((opt = pvio_getopt(argc, argv, "fh", opts, usage)) != -1) {
		if (opt != 'f')
			return opt == 'h' ? 0 : 2;
		*force = true;
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int pvio_attach_domains(struct pvio_env *env, const char *front, const char *backend, domid_t *fe,
			domid_t *be)
{
	*be = 0;
	if (pvio_env_init(env, NULL, PVIO_ENV_CLIENT) || pvio_domain_lookup(env, front, fe))
		return 1;
	return backend ? pvio_domain_lookup(env, backend, be) : 0;
}
