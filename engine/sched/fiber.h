/*
 * User-level contexts for the controlled scheduler: every emulated CPU is a
 * fiber on one OS thread, so a hand-over costs a context switch, not a futex
 * round trip.  Annotated for ASan and TSan, which otherwise lose track of
 * the stack.
 */
#ifndef MIGRACE_FIBER_H
#define MIGRACE_FIBER_H

#include <stddef.h>
#include <ucontext.h>

/*
 * x86-64: a switch saves the callee-saved registers and the FP control
 * words on the fiber's stack and swaps stack pointers (fiber.c), no
 * signal mask: swapcontext() made a sigprocmask system call per switch.
 * Elsewhere ucontext.
 */
#if defined(__x86_64__) && !defined(MIGRACE_FIBER_UCONTEXT)
#define MIGRACE_FIBER_ASM 1
#endif

struct fiber {
#ifdef MIGRACE_FIBER_ASM
	void *sp;		/* saved stack pointer while switched away */
#else
	ucontext_t uc;
#endif
	void *stack;
	size_t stack_size;
	const void *asan_bottom;	/* this fiber's stack, for ASan */
	size_t asan_size;
	void *asan_fake;
	void *tsan;
};

/* Adopt the calling thread's context as @f (the scheduler's "main"). */
void fiber_init_main(struct fiber *f);
/* (Re)arm @f to run fn() on its own stack at the next switch to it. */
void fiber_make(struct fiber *f, void (*fn)(void), size_t stack_size);
/* Switch from @from (the running fiber) to @to; @final: never resumed. */
void fiber_switch(struct fiber *from, struct fiber *to, int final);
/* First call in a new fiber's entry function. */
void fiber_started(struct fiber *main);
void fiber_free(struct fiber *f);

#endif
