/* Runs a libFuzzer target without libFuzzer: feeds every regular file in the directory argv[1]
 * (and any further directories) to LLVMFuzzerTestOneInput once. Exits 0 when every input ran,
 * 1 when a directory or file could not be read or held no inputs, 2 on usage. A crash or a
 * sanitizer report in the target ends the run with its own status. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_INPUT (8u * 1024u * 1024u)

static int s_run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = malloc(S_MAX_INPUT);
    if (!buf) {
        fclose(fp);
        return -1;
    }
    size_t n = fread(buf, 1, S_MAX_INPUT, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    /* an exact-size copy, so that a sanitizer sees any read past the end */
    uint8_t *input = malloc(n ? n : 1);
    if (!input) {
        free(buf);
        return -1;
    }
    memcpy(input, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned inputs = 0, failures = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "replay: cannot open directory %s\n", argv[a]);
            failures++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char path[4096];
            struct stat st;
            if (de->d_name[0] == '.')
                continue;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name) >= sizeof path)
                continue;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (s_run_file(path) != 0)
                failures++;
            else
                inputs++;
        }
        closedir(d);
    }
    printf("replay: %u inputs run, %u unreadable\n", inputs, failures);
    return failures == 0 && inputs > 0 ? 0 : 1;
}
