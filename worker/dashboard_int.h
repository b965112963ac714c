/* Private to worker/dashboard*.c. */
#ifndef EGW_DASHBOARD_INT_H
#define EGW_DASHBOARD_INT_H

/* The page (HTML with its CSS and JS inline): dashboard_page.c. */
extern const char egw_dashboard_page[];

#endif
