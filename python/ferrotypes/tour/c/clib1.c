/* From the tour's tutorial, "A Simple C Library That Can Be Used From Python": clib1.c, a counter, a
 * function that changes a string in place, and a string allocated and freed in C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int simple_function(void) {
    static int counter = 0;
    counter++;
    return counter;
}

void add_one_to_string(char *input) {
    size_t ii = 0;
    for (; ii < strlen(input); ii++) {
        input[ii]++;
    }
}

char *alloc_C_string(void) {
    char *phrase = strdup("I was written in C");
    printf("C just allocated %p(%ld):  %s\n", (void *) phrase, (long int) phrase, phrase);
    return phrase;
}

void free_C_string(char *ptr) {
    printf("About to free %p(%ld):  %s\n", (void *) ptr, (long int) ptr, ptr);
    free(ptr);
}
