/* SPDX-License-Identifier: MIT */
/*
 * log.h - the small logger every pvio library takes at open, as libxen* take
 * a xentoollog_logger: the library formats, the program decides where lines go.
 */
#ifndef PVIO_LOG_H
#define PVIO_LOG_H

#include <stdarg.h>

enum pvio_log_level {
	PVIO_LOG_ERROR = 0,
	PVIO_LOG_WARN = 1,
	PVIO_LOG_INFO = 2,
	PVIO_LOG_DEBUG = 3,
};

struct pvio_log {
	/* Receives one line without its newline; prefix names the module. */
	void (*vlog)(struct pvio_log *log, enum pvio_log_level level, const char *prefix,
		     const char *fmt, va_list ap);
	enum pvio_log_level max; /* lines above this level are not formatted */
};

/* A logger that writes "prefix: message" to stderr up to max. */
struct pvio_log *pvio_log_stderr(enum pvio_log_level max);

__attribute__((format(printf, 4, 5))) void pvio_log(struct pvio_log *log, enum pvio_log_level level,
						    const char *prefix, const char *fmt, ...);

#endif
