/*
 * fuzz_script.c - libFuzzer target for the HoduScript lexer, parser and
 * checker (hodu_check_script_text: everything `hodu --check` does short of
 * reading files; imports other than std/ are refused), and the formatter
 * (hodu --fmt), whose output must format to itself.
 *
 * Any bytes must give a verdict: no crash, sanitizer report, leak or hang,
 * and a failed check always carries at least one error message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

    hd_diag_init(&d, "fuzz.hodu");
    char *once = hodu_format_script_text("fuzz.hodu", (const char *)data, size, &d);
    hd_diag_free(&d);
    if (once) {
        hd_diag_init(&d, "fuzz.hodu");
        char *twice = hodu_format_script_text("fuzz.hodu", once, strlen(once), &d);
        if (!twice || strcmp(once, twice) != 0)
            abort(); /* formatting is idempotent and keeps the program parseable */
        free(twice);
        hd_diag_free(&d);
        free(once);
    }
    return 0;
}
