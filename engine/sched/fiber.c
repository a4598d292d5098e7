// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
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
#endif
#ifdef MG_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
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
	getcontext(&f->uc);
	f->uc.uc_stack.ss_sp = f->stack;
	f->uc.uc_stack.ss_size = stack_size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, fn, 0);
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
	swapcontext(&from->uc, &to->uc);
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
