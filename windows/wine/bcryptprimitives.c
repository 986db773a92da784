/* bcryptprimitives.dll for Wine 8 (Debian 12's), which lacks it: the test prefix only
 * (scripts/windows installs it there), never a bundle — every Windows 10 and 11 has its own.
 *
 * Rust's standard library (1.78 and later) takes its random numbers (HashMap keys) from
 * ProcessPrng in this DLL; without it no Rust program starts under that Wine. This one asks
 * RtlGenRandom (advapi32's SystemFunction036), which Wine 8 has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
