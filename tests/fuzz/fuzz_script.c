/*
 * fuzz_script.c - libFuzzer target for the HoduScript lexer, parser and
 * checker (hodu_check_script_text: everything `hodu --check` does short of
 * reading files; imports other than std/ are refused).
 *
 * Any bytes must give a verdict: no crash, sanitizer report, leak or hang,
 * and a failed check always carries at least one error message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "script/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_diag d;
    hd_diag_init(&d, "fuzz.hodu");
    bool ok = hodu_check_script_text("fuzz.hodu", (const char *)data, size, &d);
    if (!ok && d.n_errors == 0)
        abort(); /* every failure says why */
    for (size_t i = 0; i < d.len; i++) {
        char *line = hd_diag_line(&d, i); /* the printing path runs too */
        free(line);
    }
    hd_diag_free(&d);
    return 0;
}
