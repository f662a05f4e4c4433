/*
 * package/build.c - `hodu --package`: the model built once per target, the
 * CPU features each build's code may use, and the package written from
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/targets.h"
#include "package/package.h"

/* The compiler's predefined macros that mean a CPU feature the generated
 * code may use, under the names libhodu_rt checks (src/runtime/package.c). */
static const struct {
    const char *macro, *feature;
} feature_macros[] = {
    {"__SSE4_2__", "sse4.2"},
    {"__POPCNT__", "popcnt"},
    {"__AVX__", "avx"},
    {"__AVX2__", "avx2"},
    {"__FMA__", "fma"},
    {"__BMI2__", "bmi2"},
    {"__AVX512F__", "avx512f"},
    {"__AVX512BW__", "avx512bw"},
    {"__AVX512VL__", "avx512vl"},
    {"__ARM_FEATURE_FP16_VECTOR_ARITHMETIC", "fp16"},
    {"__ARM_FEATURE_DOTPROD", "dotprod"},
    {"__ARM_FEATURE_SVE", "sve"},
};

/* A -march value the shell may see unquoted. */
static bool plain_cpu(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_' || *s == '.' || *s == '+'))
            return false;
    return true;
}

/* Asks the target's compiler which feature macros -march=CPU (and the
 * user's --cflags) define; the names go to *features. */
static bool query_features(const hodu_build_options *o, const hd_target *tg, const char *march, const char ***features,
                           size_t *n, hd_diag *d)
{
    char *table_cc = hd_target_is_cross(tg) ? hd_target_cc(tg) : NULL;
    const char *cc = o->cc && *o->cc ? o->cc : table_cc ? table_cc : getenv("CC");
    if (cc == NULL || *cc == '\0')
        cc = "cc";
    char *cmd = hd_xasprintf("%s %s%s %s -dM -E -x c /dev/null", cc, strcmp(march, "generic") ? "-march=" : "",
                             strcmp(march, "generic") ? march : "", o->cflags ? o->cflags : "");
    FILE *p = popen(cmd, "r");
    hd_buf macros;
    hd_buf_init(&macros);
    char line[512];
    while (p != NULL && fgets(line, sizeof line, p) != NULL)
        hd_buf_puts(&macros, line);
    int rc = p != NULL ? pclose(p) : -1;
    if (rc != 0)
        hd_error(d, "'%s' failed: cannot tell which CPU features -march=%s enables", cmd, march);
    free(cmd);
    free(table_cc);
    *features = hd_xcalloc(HD_ARRAY_LEN(feature_macros), sizeof **features);
    *n = 0;
    for (size_t i = 0; rc == 0 && i < HD_ARRAY_LEN(feature_macros); i++) {
        char *def = hd_xasprintf("#define %s ", feature_macros[i].macro);
        if (macros.data != NULL && strstr(macros.data, def) != NULL)
            (*features)[(*n)++] = feature_macros[i].feature;
        free(def);
    }
    hd_buf_free(&macros);
    return rc == 0;
}

int hd_package_build(const hodu_build_options *o, const hd_package_request *req)
{
    hd_diag d;
    hd_diag_init(&d, NULL);
    const char *march = o->march;
    if (march != NULL && strcmp(march, "native") == 0)
        march = NULL; /* a package runs elsewhere: each target's baseline */
    if (march != NULL && !plain_cpu(march))
        hd_error(&d, "--march '%s' is not a CPU name", march);

    /* the targets, each once */
    char *list = hd_xstrdup(req->targets && *req->targets ? req->targets : hd_target_host());
    const hd_target *targets[16];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t != NULL && !hd_failed(&d);
         t = strtok_r(NULL, ",", &save)) {
        const hd_target *tg = hd_target_find(t, &d);
        for (size_t i = 0; tg != NULL && i < n; i++)
            if (targets[i] == tg)
                hd_error(&d, "--target names %s twice", t);
        if (tg != NULL && hd_target_is_bare(tg)) {
            /* a package holds shared libraries for a loader; bare metal has none */
            hd_error(&d, "--target %s is bare metal: a package cannot hold its object (use hodu --build)", t);
            tg = NULL;
        }
        if (tg != NULL && n == HD_ARRAY_LEN(targets))
            hd_error(&d, "more than %zu targets", HD_ARRAY_LEN(targets));
        if (tg != NULL && !hd_failed(&d))
            targets[n++] = tg;
    }
    if (n == 0 && !hd_failed(&d))
        hd_error(&d, "--target names no target");
    free(list);

    char *dir = hd_failed(&d) ? NULL : hd_make_temp_dir("hodu-package-", &d);
    hd_package_library libs[16];
    char *paths[17] = {0};
    const char **features[16] = {0};
    memset(libs, 0, sizeof libs);
    long host = -1;
    for (size_t i = 0; dir != NULL && i < n && !hd_failed(&d); i++) {
        const hd_target *tg = targets[i];
        const char *cpu = march ? march : tg->march;
        paths[i] = hd_xasprintf("%s/%s.so", dir, tg->triple);
        hodu_build_options b = *o;
        b.target = tg->triple;
        b.march = cpu;
        b.output_path = paths[i];
        b.emit_c_dir = NULL;
        b.header_path = NULL;
        b.dump_ir = NULL;
        if (hodu_build(&b) != 0) {
            hd_error(&d, "the build for %s failed", tg->triple);
            break;
        }
        size_t dash = strcspn(tg->triple, "-");
        libs[i] = (hd_package_library){.path = paths[i], .target = tg->triple};
        libs[i].arch = hd_xstrndup(tg->triple, dash);
        if (!query_features(o, tg, cpu, &features[i], &libs[i].n_features, &d))
            break;
        libs[i].features = features[i];
        if (!hd_target_is_cross(tg))
            host = (long)i;
    }
    /* the manifest's inputs and outputs come from a library this machine
     * loads: the host's entry, or a build made for that alone */
    const char *desc_path = host >= 0 ? paths[host] : NULL;
    if (dir != NULL && !hd_failed(&d) && desc_path == NULL) {
        paths[n] = hd_xasprintf("%s/host.so", dir);
        hodu_build_options b = *o;
        b.target = NULL;
        b.march = "generic";
        b.output_path = paths[n];
        b.emit_c_dir = NULL;
        b.header_path = NULL;
        b.dump_ir = NULL;
        if (hodu_build(&b) != 0)
            hd_error(&d, "the build for this machine (the manifest's description of the model) failed");
        desc_path = paths[n];
    }
    hodu_model *m = NULL;
    if (!hd_failed(&d)) {
        hodu_error err;
        if (hodu_model_open(desc_path, &m, &err) != HODU_OK)
            hd_error(&d, "%s", err.message);
    }
    if (m != NULL) {
        const hodu_model_desc *desc = hodu_model_desc_of(m);
        char *producer = hd_xasprintf("hodu %s", hodu_version());
        hd_package_info info = {.name = req->name ? req->name : desc->model_name,
                                .version = req->version ? req->version : "0",
                                .license = req->license ? req->license : "unspecified",
                                .producer = producer,
                                .desc = desc};
        hd_package_write(o->output_path, &info, libs, n, req->sign_key, &d);
        free(producer);
        hodu_model_close(m);
    }
    for (size_t i = 0; i <= n; i++) {
        if (paths[i] != NULL)
            unlink(paths[i]);
        free(paths[i]);
    }
    for (size_t i = 0; i < n; i++) {
        free((char *)libs[i].arch);
        free(features[i]);
    }
    if (dir != NULL) {
        rmdir(dir);
        hd_cleanup_forget(dir);
        free(dir);
    }
    bool failed = hd_failed(&d);
    hd_diag_print(&d, stderr);
    hd_diag_free(&d);
    return failed ? 1 : 0;
}
