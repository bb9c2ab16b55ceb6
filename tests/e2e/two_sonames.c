/*
 * two_sonames: two plugins in one process, each with its own cuDNN: plugin A is
 * linked to libcudnn.so.9, plugin B to libcudnn.so.8 (the same stand-in under
 * another soname), both loaded with dlopen(RTLD_LOCAL) and calling cuDNN directly
 * through their PLT, as two framework extensions built against two cuDNN versions
 * do. Each call must still reach its own plugin's cuDNN.
 *
 *   two_sonames PLUGIN_A.so PLUGIN_B.so
 *
 * Runs A's convolution 2 times and B's 3 times, then asks each cuDNN how many
 * convolutions it ran and prints "v9 N v8 M"; exits 0 when that is "v9 2 v8 3".
 */
#include <dlfcn.h>
#include <stdio.h>

typedef int (*plugin_run_fn)(int iters);
typedef unsigned long (*conv_calls_fn)(void);

static int run_plugin(const char *path, int iters)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    plugin_run_fn run;
    *(void **)&run = h ? dlsym(h, "plugin_run") : NULL;
    if (!run) {
        fprintf(stderr, "two_sonames: cannot load %s: %s\n", path, dlerror());
        return -1;
    }
    return run(iters);
}

static long conv_calls(const char *soname)
{
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    conv_calls_fn calls;
    *(void **)&calls = h ? dlsym(h, "nnspy_sim_cudnn_conv_calls") : NULL;
    return calls ? (long)calls() : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: two_sonames PLUGIN_A.so PLUGIN_B.so\n");
        return 2;
    }
    if (run_plugin(argv[1], 2) != 0 || run_plugin(argv[2], 3) != 0) return 1;
    long v9 = conv_calls("libcudnn.so.9"), v8 = conv_calls("libcudnn.so.8");
    printf("v9 %ld v8 %ld\n", v9, v8);
    return v9 == 2 && v8 == 3 ? 0 : 1;
}
