// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fiber.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MG_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define MG_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MG_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define MG_TSAN 1
#endif

#ifdef MG_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
				    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
				     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef MG_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

#ifdef MIGRACE_FIBER_ASM
/*
 * mg_fiber_swap(save, to): push the callee-saved registers and the SSE and
 * x87 control words, store the stack pointer in *save, load @to and pop
 * the same from there.  A new fiber's stack is laid out as if it had
 * called mg_fiber_swap() from mg_fiber_entry, with fn in r12.
 */
void mg_fiber_swap(void **save, void *to);
void mg_fiber_entry(void);
__asm__(".text\n"
	".globl mg_fiber_swap\n"
	".type mg_fiber_swap, @function\n"
	"mg_fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size mg_fiber_swap, .-mg_fiber_swap\n"
	".globl mg_fiber_entry\n"
	".type mg_fiber_entry, @function\n"
	"mg_fiber_entry:\n"
	"	endbr64\n"
	"	callq *%r12\n"
	"	ud2\n"
	".size mg_fiber_entry, .-mg_fiber_entry\n");

/* The first switch to @f "returns" into mg_fiber_entry, which calls fn. */
static void fiber_arm(struct fiber *f, void (*fn)(void))
{
	uintptr_t top = ((uintptr_t)f->stack + f->stack_size) & ~(uintptr_t)15;
	/* after the ret into mg_fiber_entry, rsp is 16-byte aligned */
	uint64_t *sp = (uint64_t *)(top - 24) - 7;
	uint32_t ctl[2];

	__asm__ volatile("stmxcsr %0\n\tfnstcw %1"
			 : "=m"(ctl[0]), "=m"(ctl[1]));
	memcpy(&sp[0], ctl, sizeof(ctl));	/* mxcsr, x87 cw */
	sp[1] = 0;				/* r15 */
	sp[2] = 0;				/* r14 */
	sp[3] = 0;				/* r13 */
	sp[4] = (uint64_t)(uintptr_t)fn;	/* r12 */
	sp[5] = 0;				/* rbx */
	sp[6] = 0;				/* rbp */
	sp[7] = (uint64_t)(uintptr_t)mg_fiber_entry;
	f->sp = sp;
}
#endif

void fiber_init_main(struct fiber *f)
{
	f->stack = NULL;
	f->stack_size = 0;
	f->asan_fake = NULL;
	f->asan_bottom = NULL;
	f->asan_size = 0;
#ifdef MG_ASAN
	{
		pthread_attr_t attr;
		void *addr;
		size_t size;

		if (!pthread_getattr_np(pthread_self(), &attr)) {
			if (!pthread_attr_getstack(&attr, &addr, &size)) {
				f->asan_bottom = addr;
				f->asan_size = size;
			}
			pthread_attr_destroy(&attr);
		}
	}
#endif
#ifdef MG_TSAN
	f->tsan = __tsan_get_current_fiber();
#else
	f->tsan = NULL;
#endif
}

void fiber_make(struct fiber *f, void (*fn)(void), size_t stack_size)
{
	if (!f->stack || f->stack_size != stack_size) {
		free(f->stack);
		f->stack = malloc(stack_size);
		if (!f->stack)
			abort();
		f->stack_size = stack_size;
	}
#ifdef MIGRACE_FIBER_ASM
#ifdef MG_ASAN
	/*
	 * A stack left mid-call (a finished or aborted CPU) keeps its
	 * frames' poisoned redzones; ASan's swapcontext() interceptor
	 * cleared them, this switch does not.
	 */
	__asan_unpoison_memory_region(f->stack, stack_size);
#endif
	fiber_arm(f, fn);
#else
	getcontext(&f->uc);
	f->uc.uc_stack.ss_sp = f->stack;
	f->uc.uc_stack.ss_size = stack_size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, fn, 0);
#endif
	f->asan_bottom = f->stack;
	f->asan_size = stack_size;
	f->asan_fake = NULL;
#ifdef MG_TSAN
	if (f->tsan)
		__tsan_destroy_fiber(f->tsan);
	f->tsan = __tsan_create_fiber(0);
#endif
}

void fiber_switch(struct fiber *from, struct fiber *to, int final)
{
#ifdef MG_ASAN
	__sanitizer_start_switch_fiber(final ? NULL : &from->asan_fake,
				       to->asan_bottom, to->asan_size);
#else
	(void)final;
#endif
#ifdef MG_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
#ifdef MIGRACE_FIBER_ASM
	mg_fiber_swap(&from->sp, to->sp);
#else
	swapcontext(&from->uc, &to->uc);
#endif
#ifdef MG_ASAN
	__sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
}

void fiber_started(struct fiber *main)
{
	(void)main;
#ifdef MG_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

void fiber_free(struct fiber *f)
{
	free(f->stack);
	f->stack = NULL;
#ifdef MG_TSAN
	if (f->tsan && f->stack_size)
		__tsan_destroy_fiber(f->tsan);
#endif
	f->tsan = NULL;
}
