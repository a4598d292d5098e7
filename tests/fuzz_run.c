/*
 * fuzz_run FILE...: runs the fuzz target (fuzz/fuzz_migrate.c, the same
 * LLVMFuzzerInitialize/LLVMFuzzerTestOneInput that libFuzzer and AFL++
 * drive) on each file in turn, without a fuzzer: a report aborts, exactly
 * as in a fuzzing run, so a byte-level minimizer (afl-tmin style, see
 * tests/fuzz_min.sh) can shrink an input while it still crashes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		FILE *f;
		size_t n;

		/* the libFuzzer flags the target's initializer adds */
		if (argv[i][0] == '-')
			continue;
		f = fopen(argv[i], "rb");

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
