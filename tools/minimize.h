/*
 * `migrace minimize` (tools/minimize.c): delta debugging of a repro file.
 */
#ifndef MIGRACE_MINIMIZE_H
#define MIGRACE_MINIMIZE_H

#include <stddef.h>

struct cli_opts;

/*
 * Minimizes o->file into o->out; @cmdline is the command as typed (the
 * output's header names it).  0, or 2 with a one-line reason in @err.
 */
int minimize_run(const struct cli_opts *o, const char *cmdline, char *err,
		 size_t errlen);
/* A title with its addresses and counts masked: the report kind and place. */
void minimize_title_key(const char *title, char *out, size_t len);

#endif
