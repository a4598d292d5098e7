/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one shim header every emulated kernel file includes first: basic
 * types, compiler helpers, list_head, BUG/WARN and the object arena.
 * In the spirit of tools/testing/vma/vma_internal.h.
 */
#ifndef MIGRACE_KERNEL_H
#define MIGRACE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __always_unused __attribute__((unused))
#define __maybe_unused __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define BIT(n) (1UL << (n))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ASan: the lock and slab code keep freed memory poisoned for it too. */
#if defined(__SANITIZE_ADDRESS__)
#define MG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MG_ASAN 1
#endif
#endif

/*
 * Relaxed atomic accesses (plain moves on x86): in stress mode they race
 * for real, and ThreadSanitizer must see them as the marked accesses they
 * are.  The callers make them preemption points.  (typeof of a comma
 * expression drops the qualifiers, so a const object can be read.)
 */
#if defined(__SANITIZE_THREAD__)
#define MG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MG_TSAN 1
#endif
#endif
/*
 * ThreadSanitizer does not model address dependencies: a lockless reader
 * of a published pointer (a page table, a VMA) is ordered by one on real
 * hardware, so under TSan READ_ONCE is an acquire.
 */
#ifdef MG_TSAN
#define __READ_ONCE_ORDER __ATOMIC_ACQUIRE
#else
#define __READ_ONCE_ORDER __ATOMIC_RELAXED
#endif
#define READ_ONCE(x)                                                      \
	({                                                                \
		__typeof__(((void)0, (x))) __ro;                          \
		__atomic_load(&(x), &__ro, __READ_ONCE_ORDER);            \
		__ro;                                                     \
	})
/* smp_wmb() + a store, as pmd_populate() after pmd_install()'s barrier */
#define smp_store_release(p, v)                                           \
	({                                                                \
		__typeof__(((void)0, *(p))) __sr = (v);                   \
		__atomic_store((p), &__sr, __ATOMIC_RELEASE);             \
	})
#define WRITE_ONCE(x, v)                                                  \
	({                                                                \
		__typeof__(((void)0, (x))) __wo = (v);                    \
		__atomic_store(&(x), &__wo, __ATOMIC_RELAXED);            \
	})

/* ---- list_head, as in include/linux/list.h ---- */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
#define fallthrough __attribute__((__fallthrough__))

static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}

static inline void list_move_tail(struct list_head *e, struct list_head *head)
{
	list_del_init(e);
	list_add_tail(e, head);
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

/* Join @list onto the front of @head (@list is left undefined). */
static inline void list_splice(const struct list_head *list,
			       struct list_head *head)
{
	struct list_head *first = list->next, *last = list->prev;

	if (list_empty(list))
		return;
	first->prev = head;
	last->next = head->next;
	head->next->prev = last;
	head->next = first;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) \
	list_entry((ptr)->next, type, member)
#define list_for_each_entry(pos, head, member)                            \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);    \
	     &pos->member != (head);                                       \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member)                    \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),    \
	    n = list_entry(pos->member.next, __typeof__(*pos), member);    \
	     &pos->member != (head);                                       \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/* ---- assertions: each one is a report (oracle 3) ---- */
void __mg_bug(const char *cond, const char *file, int line, const char *func)
	__attribute__((noreturn));
void __mg_warn(const char *cond, const char *file, int line, const char *func)
	__attribute__((noreturn));

#define BUG() __mg_bug("BUG()", __FILE__, __LINE__, __func__)
#define BUG_ON(c)                                                  \
	do {                                                       \
		if (unlikely(c))                                   \
			__mg_bug("BUG_ON(" #c ")", __FILE__, __LINE__, \
				 __func__);                        \
	} while (0)
#define VM_BUG_ON(c) BUG_ON(c)
/* The page is named to the report (engine/check): its events are shown. */
struct page;
void report_page(const struct page *page);
#define VM_BUG_ON_PAGE(c, page)                                            \
	do {                                                               \
		if (unlikely(c)) {                                         \
			report_page(page);                                 \
			__mg_bug("VM_BUG_ON_PAGE(" #c ")", __FILE__,       \
				 __LINE__, __func__);                      \
		}                                                          \
	} while (0)
#define VM_BUG_ON_FOLIO(c, folio)                                          \
	do {                                                               \
		if (unlikely(c)) {                                         \
			report_page(&(folio)->page);                       \
			__mg_bug("VM_BUG_ON_FOLIO(" #c ")", __FILE__,      \
				 __LINE__, __func__);                      \
		}                                                          \
	} while (0)
/*
 * A WARN in the emulated kernel is a report: the harness stops there, as a
 * kernel developer running with panic_on_warn would.
 */
#define WARN_ON(c)                                                         \
	({                                                                 \
		bool __w = !!(c);                                          \
		if (unlikely(__w))                                         \
			__mg_warn("WARN_ON(" #c ")", __FILE__, __LINE__,   \
				  __func__);                               \
		__w;                                                       \
	})
#define WARN_ON_ONCE(c) WARN_ON(c)
#define VM_WARN_ON(c) ((void)WARN_ON(c))

/* ---- errno values the engine returns ---- */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EAGAIN 11
#define ENOMEM 12
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EFAULT 14
#define ERANGE 34
#define EACCES 13
#define EINVAL 22
#define EACCES 13
#define ENOSYS 38

/* ---- error pointers, as in include/linux/err.h ---- */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}

/*
 * ---- kernel object arena ----
 * Every emulated kernel object (page tables, VMAs, anon_vmas, mm_structs)
 * comes from a per-run arena.  kfree() poisons instead of reusing, so a
 * later access to a freed object is detected (oracle 2); the arena is reset
 * between runs, which makes abandoning a run after a report free of leaks.
 */
void *kzalloc(size_t size);
void kfree(void *p);
/*
 * SLAB_TYPESAFE_BY_RCU-style free: the object counts as freed at once
 * (kobj_freed() is true, so a use outside RCU is caught), but its memory
 * stays readable until the RCU readers of the moment have left.
 */
void kfree_rcu_typesafe(void *p);
bool kobj_freed(const void *p);
void arena_reset(void);

#endif
