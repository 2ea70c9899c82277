/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "hv/log.h"

static void stderr_vlog(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
			const char *fmt, va_list ap)
{
	char line[512];

	(void)log;
	(void)level;
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s\n", prefix, line);
}

struct pvio_log *pvio_log_stderr(enum pvio_log_level max)
{
	/* One per level is enough: the logger holds no state but its level. */
	static struct pvio_log loggers[PVIO_LOG_DEBUG + 1];
	unsigned int i = (unsigned int)max > PVIO_LOG_DEBUG ? PVIO_LOG_DEBUG : (unsigned int)max;

	loggers[i].vlog = stderr_vlog;
	loggers[i].max = (enum pvio_log_level)i;
	return &loggers[i];
}

void pvio_log(struct pvio_log *log, enum pvio_log_level level, const char *prefix, const char *fmt,
	      ...)
{
	va_list ap;

	if (!log || level > log->max)
		return;
	va_start(ap, fmt);
	log->vlog(log, level, prefix, fmt, ap);
	va_end(ap);
}
