/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated CPUs: one harness thread (or fiber) each, with a private TLB
 * and an interrupt-disable depth that delays TLB shootdown acknowledgement.
 */
#ifndef MIGRACE_CPU_H
#define MIGRACE_CPU_H

#include <migrace/kernel.h>

#define NR_CPUS 4
#define TLB_ENTRIES 16
#define MAX_PENDING_FLUSH 8
#define CACHE_LINES 16	/* arch vivt: data cache lines per CPU */

struct mm_struct;

struct tlb_entry {
	const struct mm_struct *mm;	/* tag, like a PCID */
	unsigned long vpn;
	unsigned long pfn;
	bool valid;
	bool writable;
	bool dirty;	/* the walker already set the pte dirty bit */
};

struct tlb_flush_req {
	const struct mm_struct *mm;
	unsigned long start, end;	/* end == 0: whole mm */
};

/*
 * Arch vivt: a dirty data-cache line holding one user store, looked up by
 * virtual address (@mm is the address-space tag, like an ASID).  @pfn is
 * where the store was translated to: a write-back goes there (ARM926-style
 * caches keep the physical address for write-back).  Only dirty lines are
 * modelled: a clean line holds what memory holds.  engine/hw/cache.c.
 */
struct cache_line {
	const struct mm_struct *mm;
	unsigned long addr;	/* page-aligned virtual address */
	unsigned long pfn;
	u64 val;
	int slot;
	bool valid;
};

struct cpu {
	int id;
	struct tlb_entry tlb[TLB_ENTRIES];
	unsigned int tlb_next;
	struct cache_line dcache[CACHE_LINES];
	unsigned int dcache_next;

	/*
	 * Interrupts off (local_irq_disable, or a user instruction in
	 * flight): shootdowns sent to this CPU wait in @pending until it
	 * turns interrupts back on.
	 */
	int irqs_off;
	struct tlb_flush_req pending[MAX_PENDING_FLUSH];
	int npending;
	/*
	 * Stress mode: @pending is filled by other CPUs' threads under
	 * @ipi_lock; the target handles it at a preemption point with
	 * interrupts on and acknowledges up to @ipi_req.  A CPU whose
	 * thread is not running (@ipi_online false) is flushed directly.
	 */
	u64 ipi_req, ipi_ack;
	int ipi_lock;
	bool ipi_online;

	int spin_held;	/* spinlocks held: sleeping now is a bug */
	int locks_held;	/* all locks: must be 0 on return to user */
	int rcu_nesting;
	int notifier_ranges;	/* invalidate_range_start without its end */
	unsigned long rcu_qs;	/* bumped at each outermost rcu_read_unlock */

	/* the last user access, for reports */
	unsigned long last_pfn;
	bool last_tlb_hit;
	/* siginfo of the last SIGSEGV: SI_SEGV_MAPERR or SI_SEGV_ACCERR */
	int si_code;
};

extern struct cpu cpus[NR_CPUS];
extern int nr_cpus;
extern _Thread_local struct cpu *current_cpu;

static inline int smp_processor_id(void)
{
	return current_cpu ? current_cpu->id : 0;
}

void cpus_reset(int n);
void local_irq_disable(void);
void local_irq_enable(void);
/* Stress mode: this CPU's thread starts (true) or stops taking IPIs. */
void cpu_ipi_online(struct cpu *c, bool on);

#endif
