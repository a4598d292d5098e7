// SPDX-License-Identifier: GPL-2.0
/*
 * CPUs, TLBs and TLB shootdown.
 *
 * flush_tlb_*() invalidates the local TLB, then "sends an IPI" to every
 * other CPU in mm_cpumask().  A target with interrupts enabled handles it
 * at once (in controlled mode it is parked at a preemption point, which is
 * an instruction boundary).  A target with interrupts off - inside
 * local_irq_disable(), or in the middle of a user instruction - queues the
 * request and the sender waits until that CPU turns interrupts back on and
 * acknowledges, as on x86.
 */
#include <migrace/check.h>
#include <migrace/cpu.h>
#include <migrace/sched.h>
#include <migrace/tlb.h>
#include "../sched/stress.h"

struct cpu cpus[NR_CPUS];
int nr_cpus;
_Thread_local struct cpu *current_cpu;

void cpus_reset(int n)
{
	memset(cpus, 0, sizeof(cpus));
	for (int i = 0; i < NR_CPUS; i++)
		cpus[i].id = i;
	nr_cpus = n;
	current_cpu = NULL;
}

static bool tlb_entry_in(const struct tlb_entry *e, const struct mm_struct *mm,
			 unsigned long start, unsigned long end)
{
	unsigned long addr = e->vpn << PAGE_SHIFT;

	if (!e->valid || e->mm != mm)
		return false;
	return end == 0 || (addr >= start && addr < end);
}

static void tlb_flush_cpu(struct cpu *c, const struct mm_struct *mm,
			  unsigned long start, unsigned long end)
{
	for (int i = 0; i < TLB_ENTRIES; i++)
		if (tlb_entry_in(&c->tlb[i], mm, start, end) ||
		    (!mm && c->tlb[i].valid))	/* stress: queue overflowed */
			c->tlb[i].valid = false;
}

/* ---- stress mode: IPIs between threads ---- */

/* Held for a few instructions, never across a wait. */
static void ipi_lock(struct cpu *c)
{
	while (__atomic_exchange_n(&c->ipi_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&c->ipi_lock, __ATOMIC_RELAXED))
			;
}

static void ipi_unlock(struct cpu *c)
{
	__atomic_store_n(&c->ipi_lock, 0, __ATOMIC_RELEASE);
}

/* Runs the queued flushes; the caller holds @c's ipi_lock. */
static void ipi_run_queue(struct cpu *c)
{
	for (int i = 0; i < c->npending; i++)
		tlb_flush_cpu(c, c->pending[i].mm, c->pending[i].start,
			      c->pending[i].end);
	c->npending = 0;
	__atomic_store_n(&c->ipi_ack,
			 __atomic_load_n(&c->ipi_req, __ATOMIC_RELAXED),
			 __ATOMIC_RELEASE);
}

void stress_handle_ipis(void)
{
	struct cpu *c = current_cpu;

	if (!c || c->irqs_off ||
	    __atomic_load_n(&c->ipi_ack, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&c->ipi_req, __ATOMIC_ACQUIRE))
		return;
	ipi_lock(c);
	ipi_run_queue(c);
	ipi_unlock(c);
}

void cpu_ipi_online(struct cpu *c, bool on)
{
	ipi_lock(c);
	ipi_run_queue(c);
	c->ipi_online = on;
	ipi_unlock(c);
}

static void stress_send_flush_ipi(struct cpu *t, struct mm_struct *mm,
				  unsigned long start, unsigned long end,
				  const char *func)
{
	u64 seq;

	ipi_lock(t);
	if (!t->ipi_online) {
		/* Its thread runs no program: nothing to interrupt. */
		tlb_flush_cpu(t, mm, start, end);
		ipi_unlock(t);
		return;
	}
	if (t->npending == MAX_PENDING_FLUSH) {
		/* Out of slots: the target flushes everything. */
		t->pending[0] = (struct tlb_flush_req){ NULL, 0, 0 };
		t->npending = 1;
	} else {
		t->pending[t->npending++] =
			(struct tlb_flush_req){ mm, start, end };
	}
	seq = __atomic_add_fetch(&t->ipi_req, 1, __ATOMIC_ACQ_REL);
	ipi_unlock(t);
	stress_kick(t->id);
	stress_wait_ack(t, seq, func);
}

void tlb_forget_mm(const struct mm_struct *mm)
{
	for (int i = 0; i < NR_CPUS; i++)
		tlb_flush_cpu(&cpus[i], mm, 0, 0);
}

void local_irq_disable(void)
{
	if (current_cpu)
		current_cpu->irqs_off++;
}

void local_irq_enable(void)
{
	struct cpu *c = current_cpu;

	if (!c)
		return;
	if (stress_mode) {
		if (--c->irqs_off == 0)
			stress_handle_ipis();
		return;
	}
	if (--c->irqs_off > 0 || !c->npending)
		return;
	/* The deferred flush IPIs arrive now. */
	for (int i = 0; i < c->npending; i++)
		tlb_flush_cpu(c, c->pending[i].mm, c->pending[i].start,
			      c->pending[i].end);
	c->npending = 0;
	sched_wake(&c->pending);
}

static void send_flush_ipi(struct cpu *t, struct mm_struct *mm,
			   unsigned long start, unsigned long end,
			   const char *func)
{
	if (stress_mode) {
		stress_send_flush_ipi(t, mm, start, end, func);
		return;
	}
	if (!t->irqs_off) {
		tlb_flush_cpu(t, mm, start, end);
		return;
	}
	if (t->npending == MAX_PENDING_FLUSH) {
		/* Out of slots: the target flushes the whole mm. */
		t->pending[0] = (struct tlb_flush_req){ mm, 0, 0 };
		t->npending = 1;
		start = end = 0;
	}
	t->pending[t->npending++] = (struct tlb_flush_req){ mm, start, end };
	while (t->npending)
		sched_block(&t->pending, "flush IPI ack", func);
}

void __flush_tlb_mm_range(struct mm_struct *mm, unsigned long start,
			  unsigned long end, const char *func)
{
	struct cpu *me = current_cpu;
	unsigned long mask;

	sched_point(EV_TLB, end ? "flush_tlb_range" : "flush_tlb_mm", func,
		    mm, start, end);
	if (me)
		tlb_flush_cpu(me, mm, start, end);
	mask = mm_cpumask(mm);
	for (int i = 0; i < nr_cpus; i++) {
		if ((me && i == me->id) || !(mask & BIT(i)))
			continue;
		send_flush_ipi(&cpus[i], mm, start, end, func);
	}
}

void __flush_tlb_range(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, const char *func)
{
	__flush_tlb_mm_range(vma->vm_mm, start, end, func);
}
