/*
 * `migrace repro --ktap FILE...`: the corpus replay as KTAP version 1
 * (Documentation/dev-tools/ktap.rst), the format kselftest and KUnit
 * tooling read, besides ctest.
 */
#ifndef MIGRACE_KTAP_H
#define MIGRACE_KTAP_H

#include "cli_opts.h"

/* 0 every test ok, 1 a test not ok, 2 a bad FILE (one line, no output). */
int repro_ktap(const struct cli_opts *o);

#endif
