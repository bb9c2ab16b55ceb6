/*
 * dlsym.c: nnspy's dlsym, for programs that reach cuDNN and cuBLAS through
 * dlopen + dlsym (TensorFlow, JAX/XLA, ONNX Runtime's plugins, implib-style
 * stubs), which symbol interposition never sees.
 *
 * It returns nnspy's wrapper instead of the real function only when
 *  - the name is one nnspy wraps,
 *  - the symbol found lives in one of NVIDIA's libraries of that family, and
 *  - the caller is not itself inside an NVIDIA library (cuDNN 9's front library
 *    looks its sub-libraries' functions up by the same names).
 * The wrapper returned is the one bound to the copy of the library the symbol was
 * found in, so two copies of a library in one process each keep working.
 *
 * dlsym(RTLD_NEXT, ...) and dlsym(RTLD_DEFAULT, ...) are passed on by a tail
 * jump, so that glibc (or the next interposer's dlsym) still sees the original
 * caller's address: that is how other interposers (GPU-sharing
 * layers, other profilers, test stand-ins) reach what lies below them, and it
 * lets nnspy stack with them in either order. RTLD_DEFAULT needs nothing: the
 * global scope already finds nnspy's definitions first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "core.h"

typedef void *(*dlsym_fn)(void *, const char *);

/* The next dlsym after nnspy's: another interposer's, or glibc's. Read by the
 * assembly entry point below. */
__attribute__((visibility("hidden"))) dlsym_fn nn_next_dlsym;

__attribute__((visibility("hidden"), used)) dlsym_fn nn_bootstrap_dlsym(void)
{
    dlsym_fn f = __atomic_load_n(&nn_next_dlsym, __ATOMIC_ACQUIRE);
    if (f) return f;
    /* glibc 2.34 moved dlsym into libc under a new version; older ones have 2.2.5. */
    dlsym_fn glibc = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!glibc) glibc = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    if (!glibc) return NULL;
    /* A versioned lookup skips an unversioned dlsym of another preloaded library
     * (a GPU-sharing layer wraps dlsym too): ask for the next one by name. */
    f = (dlsym_fn)glibc(RTLD_NEXT, "dlsym");
    if (!f) f = glibc;
    __atomic_store_n(&nn_next_dlsym, f, __ATOMIC_RELEASE);
    return f;
}

void *nn_real_dlsym(void *handle, const char *name)
{
    dlsym_fn f = nn_bootstrap_dlsym();
    return f ? f(handle, name) : NULL;
}

__attribute__((visibility("hidden"))) extern const nn_wrapper_entry __start_nnspy_wrappers[];
__attribute__((visibility("hidden"))) extern const nn_wrapper_entry __stop_nnspy_wrappers[];

static const nn_wrapper_entry *wrapper_named(const char *name)
{
    for (const nn_wrapper_entry *e = __start_nnspy_wrappers; e < __stop_nnspy_wrappers; e++)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

static bool inside_nvidia_library(const void *addr)
{
    Dl_info info;
    return dladdr(addr, &info) && nn_is_intercepted_stack_file(info.dli_fname);
}

/* The symbol to hand back for dlsym(handle, name) called from `caller`. */
static void *choose(void *handle, const char *name, void *found, const void *caller)
{
    if (!found || !name || handle == RTLD_DEFAULT || !nn_active()) return found;
    const nn_wrapper_entry *w = wrapper_named(name);
    if (!w || inside_nvidia_library(caller)) return found;
    Dl_info info;
    if (!dladdr(found, &info) || !info.dli_fname) return found;
    const char *prefix = nn_family_file(w->family);
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    if (strncmp(base, prefix, strlen(prefix)) != 0) return found;
    int copy = nn_copy_for_object(w->family, info.dli_fname, info.dli_fbase);
    if (copy < 0) {
        nn_warn_once("more than %d copies of %s*: calls through the extra ones are not counted",
                     NN_COPIES - 1, prefix);
        return found;
    }
    return w->per_copy[copy];
}

/* Reached by a jump from dlsym below, so its return address is the caller's. */
__attribute__((visibility("hidden"), used, noinline)) void *nn_dlsym_handle(void *handle,
                                                                            const char *name)
{
    const void *caller = __builtin_extract_return_addr(__builtin_return_address(0));
    return choose(handle, name, nn_real_dlsym(handle, name), caller);
}

#if defined(__x86_64__)
#if defined(__CET__)
#define NN_ENDBR "    endbr64\n"
#else
#define NN_ENDBR ""
#endif
/* RTLD_NEXT is ((void *) -1l) and RTLD_DEFAULT is 0: both go straight on to the
 * next dlsym with the caller's return address still on the stack. Any other
 * handle goes to nn_dlsym_handle. */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, @function\n"
        "dlsym:\n"
        "    .cfi_startproc\n" NN_ENDBR "    cmpq $-1, %rdi\n"
        "    je 1f\n"
        "    testq %rdi, %rdi\n"
        "    jne nn_dlsym_handle\n"
        "1:  movq nn_next_dlsym(%rip), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 2f\n"
        "    jmp *%rax\n"
        "2:  pushq %rdi\n" /* first use: bootstrap, then jump as above */
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call nn_bootstrap_dlsym\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %rax, %rax\n"
        "    jz 3f\n"
        "    jmp *%rax\n"
        "3:  ret\n"
        "    .cfi_endproc\n"
        ".size dlsym, .-dlsym\n");
#else
#error "nnspy's dlsym entry point is written for x86_64; port the tail jump first"
#endif
