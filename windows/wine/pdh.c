/* pdh.dll for Wine 8's test prefix only (scripts/windows installs it there, preferred to
 * Wine's own with WINEDLLOVERRIDES=pdh=n), never a bundle — Windows has the real one.
 *
 * The power monitor reads CPU load through sysinfo, which opens Performance Data Helper
 * queries; where the counters cannot be read it asks PDH to reload them with PdhEnumObjectsW,
 * which Wine 8 does not implement (the process aborts). This one says what Wine can say — that
 * there are no performance counters to read — so the CPU load is simply unknown, as the power
 * monitor handles on any machine that does not report it. */
#include <windows.h>

#define PDH_CSTATUS_NO_OBJECT ((LONG)0xC0000BB8L)

__declspec(dllexport) LONG WINAPI PdhOpenQueryW(LPCWSTR source, DWORD_PTR user, HANDLE *query)
{
    (void)source;
    (void)user;
    if (query)
        *query = NULL;
    return PDH_CSTATUS_NO_OBJECT;
}

__declspec(dllexport) LONG WINAPI PdhAddEnglishCounterW(HANDLE query, LPCWSTR path, DWORD_PTR user,
                                                        HANDLE *counter)
{
    (void)query;
    (void)path;
    (void)user;
    if (counter)
        *counter = NULL;
    return PDH_CSTATUS_NO_OBJECT;
}

__declspec(dllexport) LONG WINAPI PdhCollectQueryData(HANDLE query)
{
    (void)query;
    return PDH_CSTATUS_NO_OBJECT;
}

__declspec(dllexport) LONG WINAPI PdhGetFormattedCounterValue(HANDLE counter, DWORD format,
                                                              LPDWORD type, void *value)
{
    (void)counter;
    (void)format;
    (void)type;
    (void)value;
    return PDH_CSTATUS_NO_OBJECT;
}

__declspec(dllexport) LONG WINAPI PdhEnumObjectsW(LPCWSTR source, LPCWSTR machine, LPWSTR list,
                                                  LPDWORD size, DWORD detail, BOOL refresh)
{
    (void)source;
    (void)machine;
    (void)list;
    (void)detail;
    (void)refresh;
    if (size)
        *size = 0;
    return PDH_CSTATUS_NO_OBJECT;
}

__declspec(dllexport) LONG WINAPI PdhRemoveCounter(HANDLE counter)
{
    (void)counter;
    return ERROR_SUCCESS;
}

__declspec(dllexport) LONG WINAPI PdhCloseQuery(HANDLE query)
{
    (void)query;
    return ERROR_SUCCESS;
}
