//! JNI entry points (see issue 4).
