// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel object arena (see kzalloc() in kernel.h): bump allocation,
 * poison on free, never reused within a run, reset between runs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <migrace/kernel.h>
#include <migrace/check.h>
#include <migrace/rcu.h>

#ifdef MG_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define POISON(a, s) __asan_poison_memory_region(a, s)
#define UNPOISON(a, s) __asan_unpoison_memory_region(a, s)
#else
#define POISON(a, s) ((void)(a), (void)(s))
#define UNPOISON(a, s) ((void)(a), (void)(s))
#endif

#define ARENA_SIZE (4u << 20)
#define KOBJ_MAGIC 0x6b6f626aU

/* 64 bytes, so that objects are cache-line aligned (pte tables rely on it). */
struct kobj_hdr {
	u32 magic;
	u32 size;
	u32 freed;
	u32 pad;
	struct rcu_head rcu;	/* kfree_rcu_typesafe() */
};
_Static_assert(sizeof(struct kobj_hdr) == 64, "kobj_hdr keeps alignment");

static _Alignas(64) unsigned char arena[ARENA_SIZE];
static size_t arena_used;

void *kzalloc(size_t size)
{
	size_t need = sizeof(struct kobj_hdr) + ((size + 63) & ~(size_t)63);
	struct kobj_hdr *h;

	/* A bump pointer: stress mode allocates from several threads. */
	size_t off = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);

	if (off + need > ARENA_SIZE)
		report_bug(NULL, 0, "kzalloc: emulation arena exhausted");
	h = (struct kobj_hdr *)(arena + off);
	UNPOISON(h, need);
	h->magic = KOBJ_MAGIC;
	h->size = (u32)size;
	h->freed = 0;
	memset(h + 1, 0, size);
	return h + 1;
}

static struct kobj_hdr *hdr_of(const void *p)
{
	return (struct kobj_hdr *)p - 1;
}

void kfree(void *p)
{
	struct kobj_hdr *h;

	if (!p)
		return;
	h = hdr_of(p);
	if (h->magic != KOBJ_MAGIC)
		report_bug(NULL, 0, "kfree of a pointer that is no object");
	if (__atomic_exchange_n(&h->freed, 1, __ATOMIC_ACQ_REL)) {
		report_object(p, h->size, RO_OBJECT);
		report_bug(NULL, 0, "double free of a %u-byte object", h->size);
	}
	memset(p, 0x6b, h->size);
	POISON(p, h->size);
}

static void kobj_poison_rcu(struct rcu_head *head)
{
	struct kobj_hdr *h = container_of(head, struct kobj_hdr, rcu);

	memset(h + 1, 0x6b, h->size);
	POISON(h + 1, h->size);
}

void kfree_rcu_typesafe(void *p)
{
	struct kobj_hdr *h = hdr_of(p);

	if (h->magic != KOBJ_MAGIC)
		report_bug(NULL, 0, "kfree of a pointer that is no object");
	if (__atomic_exchange_n(&h->freed, 1, __ATOMIC_ACQ_REL)) {
		report_object(p, h->size, RO_OBJECT);
		report_bug(NULL, 0, "double free of a %u-byte object", h->size);
	}
	call_rcu(&h->rcu, kobj_poison_rcu);
}

bool kobj_freed(const void *p)
{
	return __atomic_load_n(&hdr_of(p)->freed, __ATOMIC_ACQUIRE) != 0;
}

void arena_reset(void)
{
	UNPOISON(arena, arena_used < ARENA_SIZE ? arena_used : ARENA_SIZE);
	arena_used = 0;
}
