/* The least a Cortex-M4 program needs under QEMU (mps2-an386): a vector table, a reset
 * handler that turns the FPU on and sets up .data / .bss, and semihosting (the debugger's
 * console: QEMU prints what the program writes and exits when it exits). */
extern unsigned long _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
int main(void);
void lk_reset(void);

/* ARM semihosting: op in r0, its argument in r1, BKPT 0xAB */
int lk_semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void lk_fault(void)
{
    lk_semihost(0x04, "fault\n");                  /* SYS_WRITE0 */
    lk_semihost(0x18, (const void *)0x20023UL);     /* SYS_EXIT, run-time error: exit code 1 */
    for (;;)
        ;
}

void lk_reset(void)
{
    unsigned long *src = _sidata, *dst;
    *(volatile unsigned long *)0xE000ED88UL |= 0xFUL << 20; /* CPACR: CP10, CP11 = the FPU */
    __asm volatile("dsb\n\tisb" ::: "memory");
    for (dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    for (dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    main();
    lk_semihost(0x18, (const void *)0x20026UL); /* SYS_EXIT, ADP_Stopped_ApplicationExit */
    for (;;)
        ;
}

typedef struct {
    unsigned long *sp;
    void (*handler[15])(void);
} lk_vectors;

__attribute__((section(".vectors"), used)) static const lk_vectors vectors = {
    _estack,
    {lk_reset, lk_fault, lk_fault, lk_fault, lk_fault, lk_fault, 0, 0, 0, 0, lk_fault, lk_fault,
     0, lk_fault, lk_fault}};
