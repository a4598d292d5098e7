/*
 * TLB and shootdown: the per-CPU TLBs of engine/hw, the hardware walker's
 * accessed/dirty semantics, flush_tlb_*() and the IPI that waits for a
 * target with interrupts off.
 */
#include "harness.h"

#include <migrace/check.h>

#define MACHINE_TRACE
#include "machine.h"

#define A0 REGION_START
#define A1 (REGION_START + PAGE_SIZE)

/* ---- tests ---- */

TEST(second_access_is_a_tlb_hit)
{
	struct mm_struct *mm = boot(1);
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	/* The first store faults, then walks and fills the TLB. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 7 }), -EFAULT);
	ASSERT_EQ(tlb_find(0, mm, A0), NULL);
	ASSERT_EQ(store(mm, A0, 0, 0x1234), 0);
	ASSERT_FALSE(cpus[0].last_tlb_hit);
	ASSERT_TRUE(tlb_find(0, mm, A0) != NULL);
	ASSERT_EQ(cpus[0].last_pfn, pte_pfn(pte_now(mm, A0)));

	/* The second access - load or store - is served by the TLB. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_TRUE(cpus[0].last_tlb_hit);
	ASSERT_EQ(v, 0x1234);
	ASSERT_EQ(mmu_user_access(mm, A0, 1, true, &(u64){ 0x99 }), 0);
	ASSERT_TRUE(cpus[0].last_tlb_hit);

	/* Another page has its own entry: a miss. */
	ASSERT_EQ(store(mm, A1, 0, 1), 0);
	ASSERT_FALSE(cpus[0].last_tlb_hit);
	ASSERT_NE(cpus[0].last_pfn, pte_pfn(pte_now(mm, A0)));
	/* The CPU that used @mm is in its cpumask (switch_mm). */
	ASSERT_TRUE(mm_cpumask(mm) & BIT(0));
}

/*
 * A TLB hit never looks at the page table: the property every stale-TLB
 * race relies on.  Repoint the pte to another page without flushing: the
 * CPU still reaches the old page until the flush.
 */
TEST(tlb_hit_ignores_the_page_table)
{
	struct mm_struct *mm = boot(1);
	struct vm_area_struct *vma;
	struct page *other;
	unsigned long old_pfn;
	pte_t pte;
	u64 v = 0;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 0xaaaa), 0);
	old_pfn = pte_pfn(pte_now(mm, A0));
	other = alloc_page();
	ASSERT_TRUE(other != NULL);
	ASSERT_NE(page_to_pfn(other), old_pfn);
	clear_highpage(other);
	other->data[0] = 0xbbbb;

	pte = pte_mkdirty(pte_mkyoung(mk_pte(other, PAGE_SHARED)));
	pte_set_locked(mm, A0, pte);
	ASSERT_EQ(pte_pfn(pte_now(mm, A0)), page_to_pfn(other));

	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_TRUE(cpus[0].last_tlb_hit);
	ASSERT_EQ(cpus[0].last_pfn, old_pfn);
	ASSERT_EQ(v, 0xaaaa);
	/* A store through the stale entry also lands in the old page. */
	ASSERT_EQ(mmu_user_access(mm, A0, 1, true, &(u64){ 0xcccc }), 0);
	ASSERT_EQ(pfn_to_page(old_pfn)->data[1], 0xcccc);
	ASSERT_EQ(other->data[1], 0);

	/* After the flush the walker finds the new translation. */
	vma = find_vma(mm, A0);
	ASSERT_TRUE(vma != NULL);
	flush_tlb_page(vma, A0);
	ASSERT_EQ(tlb_find(0, mm, A0), NULL);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_FALSE(cpus[0].last_tlb_hit);
	ASSERT_EQ(cpus[0].last_pfn, page_to_pfn(other));
	ASSERT_EQ(v, 0xbbbb);
}

TEST(flush_range_shoots_down_remote_cpu)
{
	struct mm_struct *mm = boot(2);
	struct vm_area_struct *vma;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 5), 0);
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 5);
	ASSERT_TRUE(tlb_find(1, mm, A0) != NULL);
	ASSERT_TRUE(mm_cpumask(mm) & BIT(1));

	/* CPU 0 flushes: the IPI reaches CPU 1 (interrupts on) at once. */
	on_cpu(0);
	vma = find_vma(mm, A0);
	ASSERT_TRUE(vma != NULL);
	ASSERT_TRUE(tlb_find(0, mm, A0) != NULL);
	flush_tlb_range(vma, A0, A0 + PAGE_SIZE);
	ASSERT_EQ(tlb_find(0, mm, A0), NULL);
	ASSERT_EQ(tlb_find(1, mm, A0), NULL);
	ASSERT_EQ(cpus[1].npending, 0);

	/* CPU 1's next access walks again. */
	on_cpu(1);
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_FALSE(cpus[1].last_tlb_hit);
	ASSERT_EQ(v, 5);
}

TEST(flush_spares_other_mms_and_addresses)
{
	struct mm_struct *mm = boot(2), *mm2 = new_mm(1);
	struct vm_area_struct *vma;
	u64 v;

	ASSERT_TRUE(mm != NULL && mm2 != NULL);
	for (int c = 0; c < 2; c++) {
		on_cpu(c);
		ASSERT_EQ(load(mm, A0, 0, &v), 0);
		ASSERT_EQ(load(mm, A1, 0, &v), 0);
		ASSERT_EQ(load(mm2, A0, 0, &v), 0);
	}
	on_cpu(0);
	vma = find_vma(mm, A0);
	flush_tlb_range(vma, A0, A0 + PAGE_SIZE);
	for (int c = 0; c < 2; c++) {
		ASSERT_EQ(tlb_find(c, mm, A0), NULL);
		/* outside the range */
		ASSERT_TRUE(tlb_find(c, mm, A1) != NULL);
		/* same address, another mm (another PCID) */
		ASSERT_TRUE(tlb_find(c, mm2, A0) != NULL);
	}

	/* flush_tlb_mm() drops the whole mm, and only that mm. */
	flush_tlb_mm(mm);
	for (int c = 0; c < 2; c++) {
		ASSERT_EQ(tlb_find(c, mm, A1), NULL);
		ASSERT_TRUE(tlb_find(c, mm2, A0) != NULL);
	}
}

/* Hardware walker: accessed on any access, dirty on the first store. */
TEST(walker_sets_accessed_and_dirty_bits)
{
	struct mm_struct *mm = boot(1);
	struct vm_area_struct *vma;
	pte_t pte;
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(store(mm, A0, 0, 1), 0);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_write(pte) && pte_dirty(pte) && pte_young(pte));

	/* Make it clean and old, and flush, as writeback/reclaim would. */
	vma = find_vma(mm, A0);
	pte_set_locked(mm, A0, pte_mkold(pte_mkclean(pte)));
	flush_tlb_page(vma, A0);

	/* A load walks: accessed set, dirty not; the entry is clean. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_FALSE(cpus[0].last_tlb_hit);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_young(pte));
	ASSERT_FALSE(pte_dirty(pte));
	ASSERT_TRUE(tlb_find(0, mm, A0) != NULL);
	ASSERT_TRUE(tlb_find(0, mm, A0)->writable);
	ASSERT_FALSE(tlb_find(0, mm, A0)->dirty);

	/*
	 * A store through the writable but clean entry walks again to set
	 * the dirty bit: no fault, the value lands, the pte is dirty.
	 */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 0x77 }), 0);
	ASSERT_FALSE(cpus[0].last_tlb_hit);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(pte_dirty(pte));
	ASSERT_TRUE(pte_write(pte));
	ASSERT_TRUE(tlb_find(0, mm, A0)->dirty);
	ASSERT_EQ(pfn_to_page(pte_pfn(pte))->data[0], 0x77);

	/* Now the entry is dirty: the next store is a plain hit. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 0x78 }), 0);
	ASSERT_TRUE(cpus[0].last_tlb_hit);
}

TEST(store_to_readonly_pte_faults_and_drops_entry)
{
	struct mm_struct *mm = boot(1);
	pte_t pte;
	u64 v = 1;

	ASSERT_TRUE(mm != NULL);
	/* A read fault maps the zero page read-only; the load fills the TLB. */
	ASSERT_EQ(load(mm, A0, 0, &v), 0);
	ASSERT_EQ(v, 0);
	ASSERT_TRUE(tlb_find(0, mm, A0) != NULL);
	ASSERT_FALSE(tlb_find(0, mm, A0)->writable);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), 0);
	ASSERT_TRUE(cpus[0].last_tlb_hit);

	/* The store faults, and the fault drops the read-only entry. */
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 3 }), -EFAULT);
	ASSERT_EQ(tlb_find(0, mm, A0), NULL);
	pte = pte_now(mm, A0);
	ASSERT_TRUE(is_zero_pfn(pte_pfn(pte)));
	ASSERT_FALSE(pte_write(pte));
	/* The zero page was not written. */
	ASSERT_EQ(pfn_to_page(ZERO_PFN)->data[0], 0);

	/* The write fault (COW of the zero page) makes the retry succeed. */
	ASSERT_EQ(do_user_addr_fault(mm, A0, true), 0);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, true, &(u64){ 3 }), 0);
	ASSERT_FALSE(is_zero_pfn(cpus[0].last_pfn));
	ASSERT_TRUE(tlb_find(0, mm, A0)->writable);
	ASSERT_EQ(pfn_to_page(ZERO_PFN)->data[0], 0);
}

/* A load from a pte that is not present faults and caches nothing. */
TEST(no_tlb_fill_for_non_present_pte)
{
	struct mm_struct *mm = boot(1);
	u64 v;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(mmu_user_access(mm, A0, 0, false, &v), -EFAULT);
	ASSERT_EQ(tlb_find(0, mm, A0), NULL);
	/* Outside every VMA and outside the user window alike. */
	ASSERT_EQ(mmu_user_access(mm, TASK_UNMAPPED_BASE, 0, false, &v), -EFAULT);
	ASSERT_EQ(do_user_addr_fault(mm, TASK_UNMAPPED_BASE, false),
		  VM_FAULT_SIGSEGV);
	ASSERT_EQ(mmu_user_access(mm, TASK_SIZE, 0, false, &v), -EFAULT);
}

/*
 * A CPU in the middle of a user instruction has interrupts off: a flush
 * sent to it is acknowledged only when the instruction completes, and
 * the sender waits for that (x86 flush_tlb_others).  CPU 1 is stopped
 * between its page walk and its TLB fill; CPU 0's madvise must block in
 * the shootdown until CPU 1 has filled - and then dropped - the entry.
 */
TEST(shootdown_waits_for_cpu_with_irqs_off)
{
	int wait, fill, ret1, resumed;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    madvise(p0, 1, MADV_DONTNEED)\n"
			     "cpu 1:\n"
			     "    read(p0)\n"
			     "schedule:\n"
			     "    run 1 until walk pte\n"
			     "    run 0 to end\n"
			     "    run 1 to end\n"), 0);
	wait = tr_find(0, 0, "wait", "flush IPI ack", NULL);
	ASSERT_TRUE(wait >= 0);
	fill = tr_find(0, 1, "tlb", "tlb fill", NULL);
	ASSERT_TRUE(fill > wait);
	ret1 = tr_find(fill, 1, "ret", "return read", NULL);
	ASSERT_TRUE(ret1 > fill);
	/* CPU 0 resumed only after CPU 1 finished its instruction. */
	resumed = tr_next_of_cpu(wait, 0);
	ASSERT_TRUE(resumed > fill);
	ASSERT_TRUE(tr_find(resumed, 0, "ret", "return madvise", NULL) >= 0);
}

/*
 * The contrast: CPU 1 stopped between two instructions has interrupts on,
 * so the IPI is handled at once (no wait) and its next load misses.
 */
TEST(shootdown_is_immediate_for_cpu_with_irqs_on)
{
	int ret0, op, walk;

	ASSERT_EQ(run_traced("setup populate\n"
			     "cpu 0:\n"
			     "    madvise(p0, 1, MADV_DONTNEED)\n"
			     "cpu 1:\n"
			     "    read(p0)\n"
			     "    read(p0)\n"
			     "schedule:\n"
			     "    run 1 until return read\n"
			     "    run 0 to end\n"
			     "    run 1 to end\n"), 0);
	ASSERT_TRUE(tr_find(0, 1, "tlb", "tlb fill", NULL) >= 0);
	ASSERT_EQ(tr_find(0, -1, "wait", "flush IPI ack", NULL), -1);
	ret0 = tr_find(0, 0, "ret", "return madvise", NULL);
	ASSERT_TRUE(ret0 >= 0);
	/* The second load, after madvise returned, walks and faults. */
	op = tr_find(ret0, 1, "op", "read(p0)", NULL);
	ASSERT_TRUE(op > ret0);
	walk = tr_find(op, 1, "pte-read", "walk pte", NULL);
	ASSERT_TRUE(walk > op);
	ASSERT_TRUE(tr_find(walk, 1, "lock", "mmap_read_lock",
			    "do_user_addr_fault") > walk);
}

TEST_MAIN()
