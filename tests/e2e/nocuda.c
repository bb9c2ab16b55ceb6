/*
 * nocuda: a program that never touches CUDA although it is linked like the others.
 * nnspy, preloaded into it, must stay silent, leave stdout alone, keep the exit
 * status (3) and write no trace of GPU work.
 */
#include <stdio.h>

int main(void)
{
    printf("hello\n");
    return 3;
}
