/*
 * banned.h - functions that must not be used in coffre code: they either
 * cannot bound their output, keep hidden state, or hide parse errors.
 * Using one fails the build. Included last by cf.h.
 */
#ifndef CF_COMMON_BANNED_H
#define CF_COMMON_BANNED_H

#define CF_BANNED(func) sorry_##func##_is_banned_in_coffre

#undef strcpy
#define strcpy(x, y) CF_BANNED(strcpy)
#undef strcat
#define strcat(x, y) CF_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) CF_BANNED(strncpy)
#undef sprintf
#define sprintf(...) CF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CF_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) CF_BANNED(strtok)
#undef atoi
#define atoi(x) CF_BANNED(atoi)
#undef atol
#define atol(x) CF_BANNED(atol)
#undef gmtime
#define gmtime(t) CF_BANNED(gmtime)
#undef localtime
#define localtime(t) CF_BANNED(localtime)
#undef gets
#define gets(x) CF_BANNED(gets)

#endif
