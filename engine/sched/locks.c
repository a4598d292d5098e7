// SPDX-License-Identifier: GPL-2.0
/*
 * Spinlocks, the mmap rw_semaphore and the page lock.  One implementation
 * for both modes: try the atomic; on failure block on the lock object.  In
 * controlled mode blocking parks the CPU until the holder's release wakes
 * it; a CPU that blocks with every other CPU blocked is a deadlock report.
 */
#include <migrace/cpu.h>
#include <migrace/check.h>
#include <migrace/page.h>
#include <migrace/spinlock.h>

#ifdef MG_ASAN
int __asan_address_is_poisoned(void const volatile *addr);
#endif

/*
 * The lock word, as READ_ONCE() reads it.  In a freed object it holds the
 * slab poison; under ASan the freed object is poisoned for ASan too, and
 * reading it would be ASan's report (a harness crash) instead of ours.
 */
static int lock_word(const int *word)
{
#ifdef MG_ASAN
	if (__asan_address_is_poisoned(word))
		return (int)0x6b6b6b6b;
#endif
	return READ_ONCE(*word);
}

static int lock_owner_id(void)
{
	return (current_cpu ? current_cpu->id : NR_CPUS) + 1;
}

void might_sleep_check(const char *what, const char *func)
{
	struct cpu *c = current_cpu;

	if (c && (c->spin_held > 0 || c->irqs_off > 0))
		report_held_locks();
	if (c && (c->spin_held > 0 || c->irqs_off > 0))
		report_bug(NULL, 0,
			   "sleeping function called from invalid context: %s() in %s() with %d spinlock(s) held, irqs %s",
			   what, func, c->spin_held,
			   c->irqs_off ? "off" : "on");
}

/*
 * A lock word that reads as the arena's poison (kfree() and the RCU
 * callback of kfree_rcu_typesafe() fill a freed object with 0x6b) lies in
 * a freed object: no live lock ever holds that value.  Without this check
 * such a lock would look held forever and end as a deadlock report.
 */
static void check_lock_word(const void *lock, int v, const char *what,
			    const char *func)
{
	if (unlikely(v == (int)0x6b6b6b6b)) {
		report_object(lock, sizeof(int), RO_FREED_LOCK);
		report_bug(NULL, 0,
			   "use-after-free: %s() in %s() on the lock of a freed object",
			   what, func);
	}
}

bool __spin_trylock(spinlock_t *l, const char *what, const char *func)
{
	int exp = 0;

	sched_point(EV_LOCK, what, func, l, 0, 0);
	check_lock_word(l, lock_word(&l->locked), what, func);
	if (!__atomic_compare_exchange_n(&l->locked, &exp, lock_owner_id(),
					 false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false;
	if (current_cpu) {
		current_cpu->spin_held++;
		current_cpu->locks_held++;
	}
	if (stress_mode)
		stress_lock_held(l, l->name, func);
	return true;
}

void __spin_lock(spinlock_t *l, const char *what, const char *func)
{
	int me = lock_owner_id();

	for (;;) {
		int exp = 0;

		sched_point(EV_LOCK, what, func, l, 0, 0);
		check_lock_word(l, lock_word(&l->locked), what, func);
		if (__atomic_compare_exchange_n(&l->locked, &exp, me, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		if (exp == me)
			report_obj(l, RO_SPINLOCK);
		if (exp == me)
			report_bug(NULL, 0,
				   "recursive locking of %s in %s() (AA deadlock)",
				   l->name, func);
		sched_spin_wait(l, what, func);
	}
	if (current_cpu) {
		current_cpu->spin_held++;
		current_cpu->locks_held++;
	}
	if (stress_mode)
		stress_lock_held(l, l->name, func);
}

void __spin_unlock(spinlock_t *l, const char *what, const char *func)
{
	sched_point(EV_UNLOCK, what, func, l, 0, 0);
	if (READ_ONCE(l->locked) != lock_owner_id()) {
		report_obj(l, RO_SPINLOCK);
		report_bug(NULL, 0, "%s() releases %s it does not hold", func,
			   l->name);
	}
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	if (current_cpu) {
		current_cpu->spin_held--;
		current_cpu->locks_held--;
	}
	if (stress_mode)
		stress_lock_dropped(l);
	sched_wake(l);
}

/*
 * The count is updated with cmpxchg: in controlled mode nothing runs
 * between the read and the update, so it always succeeds; in stress mode
 * another CPU may have changed it and the caller tries again.
 */
static bool rwsem_cmpxchg(struct rw_semaphore *s, int old, int new)
{
	return __atomic_compare_exchange_n(&s->count, &old, new, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * rw_semaphore.  A waiting writer blocks new readers, as in Linux, so a
 * reader that takes the lock twice can deadlock against a writer.
 */
void __down_read(struct rw_semaphore *s, const char *what, const char *func)
{
	might_sleep_check(what, func);
	for (;;) {
		int v;

		sched_point(EV_LOCK, what, func, s, 0, 0);
		v = lock_word(&s->count);
		check_lock_word(s, v, what, func);
		if (v >= 0 && !(v & 0x40000000)) {
			/* Always succeeds in controlled mode. */
			if (rwsem_cmpxchg(s, v, v + 1))
				break;
			continue;
		}
		sched_block(s, what, func);
	}
	if (current_cpu)
		current_cpu->locks_held++;
	if (stress_mode)
		stress_lock_held(s, s->name, func);
}

bool __down_read_trylock(struct rw_semaphore *s, const char *what,
			 const char *func)
{
	int v;

	sched_point(EV_LOCK, what, func, s, 0, 0);
	do {
		v = lock_word(&s->count);
		check_lock_word(s, v, what, func);
		if (v < 0 || (v & 0x40000000))
			return false;
	} while (!rwsem_cmpxchg(s, v, v + 1));
	if (current_cpu)
		current_cpu->locks_held++;
	if (stress_mode)
		stress_lock_held(s, s->name, func);
	return true;
}

void __up_read(struct rw_semaphore *s, const char *what, const char *func)
{
	sched_point(EV_UNLOCK, what, func, s, 0, 0);
	if ((READ_ONCE(s->count) & 0x3fffffff) <= 0) {
		report_obj(s, RO_RWSEM);
		report_bug(NULL, 0, "%s() in %s(): %s not read-locked", what,
			   func, s->name);
	}
	__atomic_sub_fetch(&s->count, 1, __ATOMIC_RELEASE);
	if (current_cpu)
		current_cpu->locks_held--;
	if (stress_mode)
		stress_lock_dropped(s);
	sched_wake(s);
}

/*
 * count: -1 write-locked; otherwise readers in the low bits and bit 30 set
 * while a writer waits.
 */
void __down_write(struct rw_semaphore *s, const char *what, const char *func)
{
	might_sleep_check(what, func);
	for (;;) {
		int v;

		sched_point(EV_LOCK, what, func, s, 0, 0);
		v = lock_word(&s->count);
		check_lock_word(s, v, what, func);
		if ((v & 0x3fffffff) == 0 && v >= 0) {
			if (rwsem_cmpxchg(s, v, -1))
				break;
			continue;
		}
		if (v >= 0 && !(v & 0x40000000) &&
		    !rwsem_cmpxchg(s, v, v | 0x40000000))
			continue;
		sched_block(s, what, func);
	}
	if (current_cpu)
		current_cpu->locks_held++;
	if (stress_mode)
		stress_lock_held(s, s->name, func);
}

void __up_write(struct rw_semaphore *s, const char *what, const char *func)
{
	sched_point(EV_UNLOCK, what, func, s, 0, 0);
	if (READ_ONCE(s->count) != -1) {
		report_obj(s, RO_RWSEM);
		report_bug(NULL, 0, "%s() in %s(): %s not write-locked", what,
			   func, s->name);
	}
	__atomic_store_n(&s->count, 0, __ATOMIC_RELEASE);
	if (current_cpu)
		current_cpu->locks_held--;
	if (stress_mode)
		stress_lock_dropped(s);
	sched_wake(s);
}

/*
 * downgrade_write(): the writer becomes a reader and waiting readers may
 * enter (a release event: others can run from here on).
 */
void __downgrade_write(struct rw_semaphore *s, const char *what,
		       const char *func)
{
	sched_point(EV_UNLOCK, what, func, s, 0, 0);
	if (READ_ONCE(s->count) != -1) {
		report_obj(s, RO_RWSEM);
		report_bug(NULL, 0, "%s() in %s(): %s not write-locked", what,
			   func, s->name);
	}
	__atomic_store_n(&s->count, 1, __ATOMIC_RELEASE);
	sched_wake(s);
}

/* ---- the page lock: PG_locked ---- */

bool __trylock_page(struct page *page, const char *func)
{
	check_page_alive(page, "trylock_page");
	if (__test_and_set_page_flag(page, PG_locked, "trylock_page", func))
		return false;
	if (stress_mode)
		stress_lock_held(page, "page lock", func);
	return true;
}

void __lock_page(struct page *page, const char *func)
{
	might_sleep_check("lock_page", func);
	check_page_alive(page, "lock_page");
	while (__test_and_set_page_flag(page, PG_locked, "lock_page", func))
		sched_block(page, "lock_page", func);
	if (stress_mode)
		stress_lock_held(page, "page lock", func);
}

void __unlock_page(struct page *page, const char *func)
{
	if (!__test_page_flag(page, PG_locked)) {
		report_page(page);
		report_bug(NULL, 0, "%s(): unlock_page of unlocked pfn %lu",
			   func, page_to_pfn(page));
	}
	__clear_page_flag(page, PG_locked, "unlock_page", func);
	if (stress_mode)
		stress_lock_dropped(page);
	sched_wake(page);
}

void __wait_on_page_locked(struct page *page, const char *func)
{
	might_sleep_check("wait_on_page_locked", func);
	for (;;) {
		sched_point(EV_NOTE, "wait_on_page_locked", func, page,
			    page_to_pfn(page), 0);
		if (!__test_page_flag(page, PG_locked))
			break;
		sched_block(page, "wait_on_page_locked", func);
	}
}
