/*
 * build_model.c - compiles a model with the Hodu compiler library (hodu.h),
 * as `hodu --build MODEL -o OUT.so` does.
 *
 *     build_model MODEL.onnx|MODEL.hodu OUT.so
 */
#include <stdio.h>

#include <hodu.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: build_model MODEL.onnx|MODEL.hodu OUT.so\n");
        return 2;
    }
    hodu_build_options o;
    hodu_build_options_init(&o);
    o.input_path = argv[1];
    o.output_path = argv[2];
    o.march = "generic"; /* the library may run on another machine of the architecture */
    /* diagnostics already went to stderr, each naming its cause */
    if (hodu_build(&o) != 0)
        return 1;
    printf("built %s with hodu %s\n", argv[2], hodu_version());
    return 0;
}
