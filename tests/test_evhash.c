/*
 * The fast trace hash of an event (engine/sched/evhash.c) equals the
 * plain byte-by-byte FNV-1a the '# trace' lines of the corpus were made
 * with, for names in read-only data (table) and in buffers that change
 * (byte by byte), for every low byte of the running hash and values of
 * every width.
 */
#include "harness.h"

#include "../engine/sched/evhash.h"

static u64 next(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char *const names[] = {
	"", "x", "lock", "pte_offset_map_lock", "mmu_notifier_invalidate_range_start",
	"user store", "walk pte", "folio_ref_add",
};

TEST(same_as_reference_for_literals)
{
	u64 s = 88172645463325252ULL;

	for (int i = 0; i < 200000; i++) {
		u64 h = next(&s);
		u64 v = next(&s), a = next(&s);
		int cpu = (int)(next(&s) % 10), kind = (int)(next(&s) % 18);
		const char *w = names[next(&s) % 8];

		/* widths 0..8 bytes */
		v >>= 8 * (next(&s) % 9) % 64;
		a = next(&s) % 9 == 8 ? 0 : a >> (8 * (next(&s) % 8));
		ASSERT_EQ(ev_hash(h, cpu, kind, w, a, v),
			  ev_hash_ref(h, cpu, kind, w, a, v));
	}
}

TEST(every_low_byte)
{
	for (u64 l = 0; l < 4096; l++) {
		u64 h = 0xcbf29ce484222325ULL * (l + 1) + l;

		ASSERT_EQ(ev_hash(h, 1, 4, "pte_unmap_unlock", 0x7f0000006000UL, 0),
			  ev_hash_ref(h, 1, 4, "pte_unmap_unlock", 0x7f0000006000UL, 0));
	}
}

TEST(buffers_that_change)
{
	char buf[32];
	u64 s = 7;

	for (int i = 0; i < 20000; i++) {
		u64 h = next(&s);
		int n = (int)(next(&s) % 31);

		for (int j = 0; j < n; j++)
			buf[j] = (char)('a' + next(&s) % 26);
		buf[n] = '\0';
		ASSERT_EQ(ev_hash(h, 0, 0, buf, 1, 2),
			  ev_hash_ref(h, 0, 0, buf, 1, 2));
	}
	ASSERT_EQ(ev_hash(5, 0, 0, NULL, 0, 0), ev_hash_ref(5, 0, 0, NULL, 0, 0));
}

static u32 point_ref(const char *what, const char *func)
{
	u64 h = 0xcbf29ce484222325ULL;

	for (const char *s = what; s && *s; s++)
		h = (h ^ (u8)*s) * 0x100000001b3ULL;
	for (const char *s = func; s && *s; s++)
		h = (h ^ (u8)*s) * 0x100000001b3ULL;
	return (u32)h;
}

TEST(point_ids)
{
	char buf[16] = "pin(p0)";

	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 8; i++)
			for (int j = 0; j < 8; j++)
				ASSERT_EQ(ev_point_id(names[i], names[j]),
					  point_ref(names[i], names[j]));
	for (int r = 0; r < 3; r++) {
		ASSERT_EQ(ev_point_id(buf, "program"), point_ref(buf, "program"));
		buf[4] = (char)('q' + r);
		ASSERT_EQ(ev_point_id(buf, "program"), point_ref(buf, "program"));
	}
	ASSERT_EQ(ev_point_id(NULL, NULL), point_ref(NULL, NULL));
	ASSERT_EQ(ev_point_id("x", NULL), point_ref("x", NULL));
}

TEST_MAIN()
