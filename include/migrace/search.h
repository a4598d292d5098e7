/*
 * Feedback-guided program search for explore (engine/prog/search.c): a
 * corpus of programs that reached new cross-CPU interleavings, more
 * schedules for them, and mutants of them besides fresh random programs.
 */
#ifndef MIGRACE_SEARCH_H
#define MIGRACE_SEARCH_H

#include <migrace/prog.h>

struct rng;
/* Empties the corpus and installs the scheduler's pair hook. */
void search_init(void);
void search_exit(void);
/* The next program to explore: fresh, or a mutated corpus entry. */
void search_next(struct program *p, struct rng *r, int ncpus, int nops);
/*
 * How many schedules the current program gets, asked after its first
 * @base: more when they reached a new feature.
 */
int search_schedules(int done, int base);
/* After the program's schedules: keeps it if they reached new features. */
void search_done(const struct program *p, struct rng *r);
u32 search_features(void);
int search_corpus_size(void);

#endif
