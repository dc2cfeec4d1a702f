/* noop: exits at once; linked statically, its spawn time is the harness's own overhead. */
int main(void) { return 0; }
