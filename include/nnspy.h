/*
 * nnspy.h: the public interface of libnnspy.so for programs that want to talk to
 * the profiler. Every function here is optional: look it up with dlsym (or ctypes)
 * so that the program runs the same without nnspy.
 */
#ifndef NNSPY_H
#define NNSPY_H

#define NNSPY_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the loaded libnnspy.so, e.g. "0.1.0". */
const char *nnspy_version(void);

#ifdef __cplusplus
}
#endif

#endif
