/* Forced into every C file of llama.cpp's Windows cross build (scripts/windows).
 *
 * llama.cpp's CPU backend asks Windows 10 not to throttle its threads, with a structure that
 * MinGW-w64 10 (Debian 12's) does not declare yet; the Windows SDK's layout and values. */
#ifndef FIELDBRIEF_MINGW_COMPAT_H
#define FIELDBRIEF_MINGW_COMPAT_H
#if defined(_WIN32) && defined(__MINGW32__)
#include <_mingw.h>
#if __MINGW64_VERSION_MAJOR < 11
typedef struct _THREAD_POWER_THROTTLING_STATE {
    unsigned long Version;
    unsigned long ControlMask;
    unsigned long StateMask;
} THREAD_POWER_THROTTLING_STATE;
#define THREAD_POWER_THROTTLING_CURRENT_VERSION 1
#define THREAD_POWER_THROTTLING_EXECUTION_SPEED 0x1
#define THREAD_POWER_THROTTLING_VALID_FLAGS THREAD_POWER_THROTTLING_EXECUTION_SPEED
#endif
#endif
#endif
