/*
 * A tiny kselftest-style unit-test harness with KTAP output.
 *
 *	#include "harness.h"
 *
 *	TEST(answer)
 *	{
 *		ASSERT_EQ(6 * 7, 42);
 *	}
 *
 *	TEST_MAIN()
 *
 * TEST() registers the test at start-up (a constructor), in the order the
 * tests appear in the file.  An ASSERT_* that fails prints the file, the
 * line and both values as a KTAP diagnostic, marks the test failed and
 * returns from the test function: keep assertions in the TEST() body (or
 * in helpers whose result the body asserts on).
 *
 * TEST_MAIN() defines main(): it runs every test of the file, or only the
 * tests named on the command line, prints "ok N name" / "not ok N name",
 * a "# N passed, M failed" summary, and exits 1 if any test failed.
 *
 * On POSIX systems each test runs in a forked child, as kselftest_harness
 * does: a test that crashes or aborts (an emulated-kernel report outside
 * machine_call() aborts) is reported "not ok" and the other tests still
 * run, and no test sees another's global state.  A child that runs longer
 * than TH_TIMEOUT seconds is killed and counted as failed.  Set
 * TH_NOFORK=1 in the environment to run everything in one process (for a
 * debugger).
 */
#ifndef MIGRACE_TEST_HARNESS_H
#define MIGRACE_TEST_HARNESS_H

/* fork(), waitpid(), alarm() under -std=c11: include this header first. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#define TH_HAVE_FORK 1
#endif

#ifndef TH_TIMEOUT
#define TH_TIMEOUT 120
#endif
#define TH_MAX_TESTS 256

struct th_test {
	const char *name;
	void (*fn)(void);
};

static struct th_test th_tests[TH_MAX_TESTS];
static int th_ntests;
static int th_failed;	/* the running test failed */

static inline void th_register(const char *name, void (*fn)(void))
{
	if (th_ntests == TH_MAX_TESTS) {
		fprintf(stderr, "harness: more than %d tests\n", TH_MAX_TESTS);
		exit(2);
	}
	th_tests[th_ntests].name = name;
	th_tests[th_ntests].fn = fn;
	th_ntests++;
}

#define TEST(name)                                                       \
	static void th_test_##name(void);                                \
	__attribute__((constructor)) static void th_register_##name(void) \
	{                                                                \
		th_register(#name, th_test_##name);                      \
	}                                                                \
	static void th_test_##name(void)

/* A KTAP diagnostic line; tests may use it for context. */
#define TH_LOG(...)                                   \
	do {                                          \
		printf("# ");                         \
		printf(__VA_ARGS__);                  \
		printf("\n");                         \
		fflush(stdout);                       \
	} while (0)

static inline void th_fail_values(const char *file, int line,
				  const char *expr, unsigned long long a,
				  unsigned long long b)
{
	printf("# %s:%d: expected %s\n", file, line, expr);
	printf("#   left:  %lld (%#llx)\n", (long long)a, a);
	printf("#   right: %lld (%#llx)\n", (long long)b, b);
	fflush(stdout);
	th_failed = 1;
}

static inline void th_fail_cond(const char *file, int line, const char *expr)
{
	printf("# %s:%d: expected %s\n", file, line, expr);
	fflush(stdout);
	th_failed = 1;
}

static inline void th_fail_str(const char *file, int line, const char *expr,
			       const char *a, const char *b)
{
	printf("# %s:%d: expected %s\n", file, line, expr);
	printf("#   left:  \"%s\"\n", a ? a : "(null)");
	printf("#   right: \"%s\"\n", b ? b : "(null)");
	fflush(stdout);
	th_failed = 1;
}

/*
 * Both sides are evaluated once and compared as 64-bit integers (pointers
 * and booleans included), so mixing int, long and unsigned is fine.
 */
#define TH_ASSERT_OP(a, b, op)                                                \
	do {                                                                  \
		unsigned long long th_a_ = (unsigned long long)(a);           \
		unsigned long long th_b_ = (unsigned long long)(b);           \
		if (!(th_a_ op th_b_)) {                                      \
			th_fail_values(__FILE__, __LINE__, #a " " #op " " #b, \
				       th_a_, th_b_);                         \
			return;                                               \
		}                                                             \
	} while (0)

#define ASSERT_EQ(a, b) TH_ASSERT_OP(a, b, ==)
#define ASSERT_NE(a, b) TH_ASSERT_OP(a, b, !=)

#define ASSERT_TRUE(c)                                              \
	do {                                                        \
		if (!(c)) {                                         \
			th_fail_cond(__FILE__, __LINE__, #c);       \
			return;                                     \
		}                                                   \
	} while (0)

#define ASSERT_FALSE(c)                                             \
	do {                                                        \
		if (c) {                                            \
			th_fail_cond(__FILE__, __LINE__, "!(" #c ")"); \
			return;                                     \
		}                                                   \
	} while (0)

#define ASSERT_STREQ(a, b)                                                  \
	do {                                                                \
		const char *th_sa_ = (a), *th_sb_ = (b);                    \
		if (!th_sa_ || !th_sb_ || strcmp(th_sa_, th_sb_)) {         \
			th_fail_str(__FILE__, __LINE__, #a " == " #b, th_sa_, \
				    th_sb_);                                \
			return;                                             \
		}                                                           \
	} while (0)

/* @hay contains @needle. */
#define ASSERT_SUBSTR(hay, needle)                                          \
	do {                                                                \
		const char *th_sa_ = (hay), *th_sb_ = (needle);             \
		if (!th_sa_ || !th_sb_ || !strstr(th_sa_, th_sb_)) {        \
			th_fail_str(__FILE__, __LINE__,                     \
				    #hay " contains " #needle, th_sa_, th_sb_); \
			return;                                             \
		}                                                           \
	} while (0)

static inline int th_selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

/* Runs one test; returns 0 if it passed. */
static inline int th_run_one(const struct th_test *t)
{
#ifdef TH_HAVE_FORK
	const char *nofork = getenv("TH_NOFORK");

	if (!nofork || !*nofork || !strcmp(nofork, "0")) {
		pid_t pid;
		int status;

		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			perror("harness: fork");
			return 1;
		}
		if (pid == 0) {
			alarm(TH_TIMEOUT);
			th_failed = 0;
			t->fn();
			fflush(stdout);
			_exit(th_failed ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("harness: waitpid");
			return 1;
		}
		if (WIFSIGNALED(status)) {
			printf("# %s: killed by signal %d%s\n", t->name,
			       WTERMSIG(status),
			       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
			return 1;
		}
		return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
#endif
	th_failed = 0;
	t->fn();
	return th_failed;
}

static inline int th_main(int argc, char **argv)
{
	int n = 0, passed = 0, failed = 0;

	for (int i = 0; i < th_ntests; i++)
		n += th_selected(argc, argv, th_tests[i].name);
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
	n = 0;
	for (int i = 0; i < th_ntests; i++) {
		const struct th_test *t = &th_tests[i];

		if (!th_selected(argc, argv, t->name))
			continue;
		n++;
		printf("# RUN %s\n", t->name);
		fflush(stdout);
		if (th_run_one(t)) {
			failed++;
			printf("not ok %d %s\n", n, t->name);
		} else {
			passed++;
			printf("ok %d %s\n", n, t->name);
		}
		fflush(stdout);
	}
	printf("# %d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

#define TEST_MAIN()                             \
	int main(int argc, char **argv)         \
	{                                       \
		return th_main(argc, argv);     \
	}

#endif
