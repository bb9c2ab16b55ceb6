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

/*
 * Frame markers, for NNSPY_FRAME=marker: the intercepted calls made between a
 * begin and the next end form one frame (one inference, one training step).
 * A begin without an end closes the frame before it. Ignored in other modes.
 * From Python: ctypes.CDLL(None).nnspy_frame_begin() when nnspy is preloaded.
 */
void nnspy_frame_begin(void);
void nnspy_frame_end(void);

#ifdef __cplusplus
}
#endif

#endif
