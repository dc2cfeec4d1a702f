/*
 * The one symbol libcmk-https.so exports; declared here so that the compiler checks the
 * definition against cmk_https_perform_fn in cmk_https.h. The host finds it with dlsym.
 */
#ifndef CMK_HTTPS_TRANSPORT_H
#define CMK_HTTPS_TRANSPORT_H

#include "cmk_https.h"

__attribute__((visibility("default"))) void cmk_https_perform_v2(const cmk_https_request *request, void *context,
                                                                 cmk_https_reply_fn reply);

#endif /* CMK_HTTPS_TRANSPORT_H */
